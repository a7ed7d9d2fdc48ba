"""The node's Prometheus metrics in one place (issue 18): every name, label and bucket.

Why one module: the names are an interface (dashboards, alerts, docs/OPERATIONS.md,
deploy/grafana/confero.json read them), so they are spelled once, here, and the code
that counts only calls the objects made here.

Conventions (Prometheus' own): the ``confero_`` prefix, base units (seconds, ratios),
``_total`` on counters (the client adds it), and only bounded label values: a channel,
a refusal reason, a route template, never a room, participant or call id.

Two kinds of figures, kept apart on purpose:

- *Events* (a refused call, a wrong PIN, a media tick, an HTTP request, a notice sent)
  are counted where they happen, on objects made and labelled once here: the media tick
  observes two unlabelled histograms once per tick (~1 µs), never per packet; a label
  is looked up (``.labels``) once at start for every value it can take.
- *State* (live conferences, participants by channel, open sockets, queued notices,
  SFU totals) is read when Prometheus scrapes, by a collector calling the readers the
  composition root registers (``watch_*``). Nothing keeps a gauge in step by hand, so
  nothing can drift; a reader that needs I/O (the notice queue is a database count) is
  an async refresher run before each scrape, with a timeout, and its failure leaves the
  last value instead of failing the scrape.

Each ``Metrics`` has its own ``CollectorRegistry`` (not the client's global one), so
several servers run in one test process without sharing or clashing. Scrapes run on
the event loop (the exposition is an async HTTP handler), so the readers see the
node's dicts between two steps of the loop, never half-changed.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Final

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

#: The channels a participant comes by; others (``api``) appear when present.
CHANNELS: Final = ("phone", "browser")
#: Why a phone call was refused (bounded: the label's only values).
REFUSAL_REASONS: Final = ("full", "wrong_pin", "rate_limited", "no_codec", "overloaded")
#: What became of one try of a notice job.
NOTICE_CHANNELS: Final = ("email", "sms")
NOTICE_OUTCOMES: Final = ("sent", "retried", "failed")
#: Socket kinds of ``confero_websockets_open``.
SOCKETS: Final = ("room", "people")
#: Methods kept as they are in the HTTP label; anything else is "other" (a client may
#: send any token as a method: unbounded otherwise).
HTTP_METHODS: Final = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

#: Seconds. A tick's work is well under a millisecond per room; lateness past 5 ms is
#: what ``/api/health`` counts, past 20 ms a listener may hear it.
TICK_BUCKETS: Final = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2)
#: Fraction of a leg's packets lost in one RTCP interval (0 to 1).
LOSS_BUCKETS: Final = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0)
#: Interarrival jitter, seconds (RFC 3550 A.8).
JITTER_BUCKETS: Final = (0.001, 0.0025, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)
HTTP_BUCKETS: Final = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: Waiting for a pooled database connection: normally nothing, up to the pool's 30 s.
POOL_BUCKETS: Final = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0)

#: Seconds a refresher may take before the scrape goes on without it.
REFRESH_TIMEOUT: Final = 2.0

Refresher = Callable[[], Awaitable[None]]

# The client's ``*_created`` series (a gauge per counter and histogram, the time it was
# made) double the series and say nothing a restart's ``process_start`` would not.
disable_created_metrics()  # type: ignore[no-untyped-call]


class Metrics:
    """The registry and every metric object of one node."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        # ------------------------------------------------------------ phone calls
        self.calls_admitted = Counter(
            "confero_calls_admitted",
            "Phone calls that got through the voice menu into a conference (or its lobby).",
            registry=r,
        )
        calls_refused = Counter(
            "confero_calls_refused",
            "Phone calls refused, by reason: full (node or room), wrong_pin (gave up at "
            "the PIN), rate_limited (INVITE flood, PIN lock-out), no_codec (488), "
            "overloaded (the node sheds load).",
            ["reason"],
            registry=r,
        )
        self.calls_refused = {reason: calls_refused.labels(reason) for reason in REFUSAL_REASONS}
        self.pin_failures = Counter(
            "confero_pin_failures",
            "Wrong conference number or PIN entered on the phone.",
            registry=r,
        )
        # ------------------------------------------------------------------ media
        self.tick_duration = Histogram(
            "confero_media_tick_duration_seconds",
            "Time one 20 ms media tick took to mix and send every room of this node.",
            buckets=TICK_BUCKETS,
            registry=r,
        )
        self.tick_lateness = Histogram(
            "confero_media_tick_lateness_seconds",
            "How late a media tick started after its due time (the event loop's lag).",
            buckets=TICK_BUCKETS,
            registry=r,
        )
        leg_loss = Histogram(
            "confero_media_leg_receive_loss_ratio",
            "Fraction of a leg's incoming audio packets lost on the way to us, by channel: "
            "one sample per leg per interval (a phone's RTCP interval, about 5 s; a "
            "browser's microphone every 5 s).",
            ["channel"],
            buckets=LOSS_BUCKETS,
            registry=r,
        )
        leg_jitter = Histogram(
            "confero_media_leg_receive_jitter_seconds",
            "Interarrival jitter of a leg's incoming audio as we receive it, by channel, "
            "one sample per leg per interval (about 5 s).",
            ["channel"],
            buckets=JITTER_BUCKETS,
            registry=r,
        )
        self.leg_loss = {c: leg_loss.labels(c) for c in CHANNELS}
        self.leg_jitter = {c: leg_jitter.labels(c) for c in CHANNELS}
        # ------------------------------------------------------------------- HTTP
        self.http_duration = Histogram(
            "confero_http_request_duration_seconds",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        # ---------------------------------------------------------------- notices
        notices = Counter(
            "confero_notices",
            "Tries of notice jobs (invitation mail and SMS) by channel and outcome: sent, "
            "retried (a transient error, tried again later) or failed (for good).",
            ["channel", "outcome"],
            registry=r,
        )
        self.notices = {
            (channel, outcome): notices.labels(channel, outcome)
            for channel in NOTICE_CHANNELS
            for outcome in NOTICE_OUTCOMES
        }
        self.notices_queued = Gauge(
            "confero_notices_queued",
            "Notice jobs waiting to be sent (due or not), as of the last scrape.",
            registry=r,
        )
        # ---------------------------------------------------------------- database
        self.db_pool_wait = Histogram(
            "confero_db_pool_wait_seconds",
            "Time a database session waited for a pooled connection.",
            buckets=POOL_BUCKETS,
            registry=r,
        )
        self._state = _ScrapeTime()
        r.register(self._state)
        self._refreshers: list[Refresher] = []

    # --------------------------------------------------------------- events
    def observe_tick(self, lateness: float, duration: float) -> None:
        """One media tick: how late it started and how long its work took (seconds)."""
        self.tick_lateness.observe(max(0.0, lateness))
        self.tick_duration.observe(duration)

    def observe_leg(self, loss: float, jitter: float, channel: str = "phone") -> None:
        """One interval of one leg's reception: loss fraction and jitter (seconds)."""
        if channel in self.leg_loss:
            self.leg_loss[channel].observe(loss)
            self.leg_jitter[channel].observe(jitter)

    def refuse(self, reason: str) -> None:
        """A phone call refused; an unknown reason counts as ``overloaded`` (bounded)."""
        (self.calls_refused.get(reason) or self.calls_refused["overloaded"]).inc()

    def notice(self, channel: str, outcome: str) -> None:
        child = self.notices.get((channel, outcome))
        if child is not None:
            child.inc()

    def observe_http(self, route: str, method: str, status: int, seconds: float) -> None:
        method = method if method in HTTP_METHODS else "other"
        self.http_duration.labels(route, method, str(status)).observe(seconds)

    # ---------------------------------------------------------------- state
    def watch_conferences(self, channels: Callable[[], Iterable[Iterable[str]]]) -> None:
        """``channels()``: for each live conference, its participants' channels."""
        self._state.conferences = channels

    def watch_sockets(self, sockets: Callable[[], Mapping[str, int]]) -> None:
        """``sockets()``: open WebSocket connections by kind (``room``, ``people``)."""
        self._state.sockets.append(sockets)

    def watch_sfu(self, totals: Callable[[], tuple[int, int]]) -> None:
        """``totals()``: frames forwarded and key frames requested since the start."""
        self._state.sfu = totals

    def watch_legs(self, legs: Callable[[], int]) -> None:
        """``legs()``: audio legs in this node's mix (phones and browsers)."""
        self._state.legs = legs

    def refresh_with(self, refresher: Refresher) -> None:
        """Run ``refresher`` before every scrape (state that needs I/O to read)."""
        self._refreshers.append(refresher)

    async def refresh(self) -> None:
        for refresher in self._refreshers:
            try:
                await asyncio.wait_for(refresher(), REFRESH_TIMEOUT)
            except Exception:  # the scrape goes on with the last value
                log.warning("metrics: a refresher failed", exc_info=True)

    async def exposition(self) -> bytes:
        """The text format of everything, as a scrape gets it."""
        await self.refresh()
        return generate_latest(self.registry)


def _nothing() -> Iterable[Iterable[str]]:
    return ()


def _no_totals() -> tuple[int, int]:
    return 0, 0


def _no_legs() -> int:
    return 0


class _ScrapeTime(Collector):
    """State read from the node when scraped; zeros until the node registers readers,
    so a dashboard sees every series from the first scrape on."""

    def __init__(self) -> None:
        self.conferences: Callable[[], Iterable[Iterable[str]]] = _nothing
        self.sockets: list[Callable[[], Mapping[str, int]]] = []
        self.sfu: Callable[[], tuple[int, int]] = _no_totals
        self.legs: Callable[[], int] = _no_legs

    def collect(self) -> Iterator[Metric]:
        live = 0
        by_channel = dict.fromkeys(CHANNELS, 0)
        for channels in self.conferences():
            live += 1
            for channel in channels:
                by_channel[channel] = by_channel.get(channel, 0) + 1
        yield GaugeMetricFamily(
            "confero_conferences_live", "Conferences running on this node.", value=live
        )
        participants = GaugeMetricFamily(
            "confero_participants",
            "Participants in this node's live conferences, by channel.",
            labels=["channel"],
        )
        for channel, count in sorted(by_channel.items()):
            participants.add_metric([channel], count)
        yield participants
        open_sockets = dict.fromkeys(SOCKETS, 0)
        for reader in self.sockets:
            for kind, count in reader().items():
                open_sockets[kind] = open_sockets.get(kind, 0) + count
        sockets = GaugeMetricFamily(
            "confero_websockets_open", "Open WebSocket connections, by kind.", labels=["socket"]
        )
        for kind, count in sorted(open_sockets.items()):
            sockets.add_metric([kind], count)
        yield sockets
        forwarded, keyframes = self.sfu()
        yield CounterMetricFamily(
            "confero_sfu_forwarded_frames",
            "Video frames the SFU forwarded to subscribers.",
            value=forwarded,
        )
        yield CounterMetricFamily(
            "confero_sfu_keyframe_requests",
            "Key-frame requests (PLI) the SFU sent to publishers.",
            value=keyframes,
        )
        yield GaugeMetricFamily(
            "confero_media_legs", "Audio legs in this node's mix.", value=self.legs()
        )
