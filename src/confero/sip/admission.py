"""SIP admission control (issue 14, Deliver 1): which new INVITEs become calls.

The attack run sent 500 never-ACKed INVITEs in 5 s from one source: every one became a
call with an RTP leg, an IVR task and database reads, one core ran at 100 % and OPTIONS
went unanswered. The user agent now asks this policy before it makes a call of an
out-of-dialog INVITE; the policy is plain counters, no I/O, O(1) per INVITE:

- an INVITE rate per source address (a token bucket: ``invite_rate`` a second, bursts of
  ``invite_burst``); over it: 503 with Retry-After, and a source that keeps going after
  ``ban_after`` refusals is banned for ``ban_seconds``: 403 with Retry-After;
- concurrent calls in total and per source; over them: 503 with Retry-After (RFC 3261
  21.5.4: overload; the caller may come back later);
- calls answered but not yet ACKed ("pending"), per source and in total: the rerun of
  the attacks found two addresses that never ACK filling every slot for Timer H's 32 s,
  over and over. A pending call has not shown that its source even receives our
  answers (UDP sources are forged at will), so such calls may hold at most
  ``max_pending_per_source`` each and half of ``max_calls`` together. When that half
  is full (forged sources, many of them), a new INVITE is not refused: the user agent
  drops the oldest call still waiting for its ACK (:meth:`pending_full`; like a SYN
  queue). A real caller ACKs within a round trip, so only a flood of hundreds of
  INVITEs a second from many sources could push it out first.

Overload (the soak of issue 14): past what the core can carry, everything queues behind
the media tick, database sessions wait out the pool's 30 s and calls fail mid-IVR. The
node tells the policy when its event loop lags (``overloaded``, the media tick's
recent lateness) and new INVITEs get 503 then, so the calls already in stay whole.

The ban counts refusals until the source has been quiet long enough to refill its
bucket, not until its next admitted INVITE: a flood at five times the rate gets one in
five through, and must still end in a ban.

A refused INVITE is answered statelessly (RFC 3261 8.2.7): one response, no transaction
retransmitting it for 32 s. Re-INVITEs, OPTIONS and everything inside a dialog never
pass here. Per-room caps are the bridge's (a room is known only after the IVR).

The table of sources is bounded (``max_sources``): idle entries are dropped when it
fills, and a flood from more addresses than that is refused as overload.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class AdmissionLimits:
    #: Concurrent incoming calls, in total and from one source address (0: no limit).
    max_calls: int = 0
    max_calls_per_source: int = 0
    #: Calls not yet ACKed from one source (0: no limit); in total: half ``max_calls``.
    max_pending_per_source: int = 10
    #: New INVITEs a second from one source, and the burst allowed above it (0: no limit).
    invite_rate: float = 0.0
    invite_burst: int = 20
    #: Rate refusals in a row that ban a source, and for how long.
    ban_after: int = 20
    ban_seconds: float = 60.0
    #: The Retry-After of an overload (limits on concurrent calls).
    busy_retry_after: int = 5
    max_sources: int = 10_000


@dataclass(frozen=True)
class Refusal:
    """The answer to an INVITE that is not admitted."""

    status: int
    reason: str
    retry_after: int
    #: Why, as a short stable word for counting (issue 18's metrics): ``rate_limited``
    #: (the source's INVITE rate, or its ban), ``full`` (a call limit), ``overloaded``
    #: (the node sheds load, calls that never ACK, too many sources).
    kind: str = "overloaded"


@dataclass
class _Source:
    tokens: float
    stamp: float
    calls: int = 0
    pending: int = 0
    refused: int = 0
    banned_until: float = 0.0


@dataclass
class SipAdmission:
    limits: AdmissionLimits
    clock: Callable[[], float] = time.monotonic
    calls: int = 0
    #: calls started and not yet confirmed (ACKed)
    pending: int = 0
    #: True while the node cannot take more work (set by the phone stack)
    overloaded: Callable[[], bool] | None = None
    _sources: dict[str, _Source] = field(default_factory=dict)

    def check(self, source: str) -> Refusal | None:
        """A new INVITE from ``source``: None when it may become a call (then
        :meth:`started` must follow), otherwise how to refuse it."""
        limits = self.limits
        now = self.clock()
        entry = self._entry(source, now)
        if entry is None:
            return Refusal(503, "Service Unavailable (overloaded)", limits.busy_retry_after)
        if entry.banned_until > now:
            return Refusal(
                403,
                "Forbidden (too many calls)",
                math.ceil(entry.banned_until - now),
                "rate_limited",
            )
        if limits.invite_rate > 0:
            entry.tokens = min(
                float(limits.invite_burst),
                entry.tokens + (now - entry.stamp) * limits.invite_rate,
            )
            if entry.tokens >= limits.invite_burst:
                entry.refused = 0  # quiet long enough: the streak is forgiven
            entry.stamp = now
            if entry.tokens < 1.0:
                entry.refused += 1
                if limits.ban_after > 0 and entry.refused >= limits.ban_after:
                    entry.banned_until = now + limits.ban_seconds
                    entry.refused = 0
                    return Refusal(
                        403,
                        "Forbidden (too many calls)",
                        math.ceil(limits.ban_seconds),
                        "rate_limited",
                    )
                wait = math.ceil((1.0 - entry.tokens) / limits.invite_rate)
                return Refusal(
                    503, "Service Unavailable (too many calls)", max(1, wait), "rate_limited"
                )
            entry.tokens -= 1.0
        if self.overloaded is not None and self.overloaded():
            return Refusal(503, "Service Unavailable (overloaded)", limits.busy_retry_after)
        if limits.max_calls and self.calls >= limits.max_calls:
            return Refusal(503, "Service Unavailable (call limit)", limits.busy_retry_after, "full")
        if limits.max_calls_per_source and entry.calls >= limits.max_calls_per_source:
            return Refusal(503, "Service Unavailable (call limit)", limits.busy_retry_after, "full")
        pending_cap = limits.max_pending_per_source
        if pending_cap and entry.pending >= pending_cap:
            return Refusal(503, "Service Unavailable (calls not answered)", limits.busy_retry_after)
        return None

    def pending_full(self) -> bool:
        """Calls waiting for their ACK hold half of ``max_calls``: one must go (the
        oldest) before a new INVITE becomes a call."""
        cap = self.limits.max_calls
        return bool(cap) and self.pending >= max(1, cap // 2)

    def started(self, source: str) -> None:
        """An admitted INVITE became a call (pending until :meth:`confirmed`)."""
        self.calls += 1
        self.pending += 1
        entry = self._entry(source, self.clock())
        if entry is not None:
            entry.calls += 1
            entry.pending += 1

    def confirmed(self, source: str) -> None:
        """The call's ACK came: its source receives our answers."""
        self.pending = max(0, self.pending - 1)
        entry = self._sources.get(source)
        if entry is not None and entry.pending > 0:
            entry.pending -= 1

    def ended(self, source: str, *, confirmed: bool = True) -> None:
        """A call :meth:`started` is over (``confirmed``: :meth:`confirmed` was called)."""
        if not confirmed:
            self.confirmed(source)
        self.calls = max(0, self.calls - 1)
        entry = self._sources.get(source)
        if entry is not None and entry.calls > 0:
            entry.calls -= 1

    def calls_from(self, source: str) -> int:
        entry = self._sources.get(source)
        return entry.calls if entry is not None else 0

    def _entry(self, source: str, now: float) -> _Source | None:
        entry = self._sources.get(source)
        if entry is not None:
            return entry
        if len(self._sources) >= self.limits.max_sources:
            self._prune(now)
            if len(self._sources) >= self.limits.max_sources:
                return None
        entry = self._sources[source] = _Source(float(self.limits.invite_burst), now)
        return entry

    def _prune(self, now: float) -> None:
        """Drop sources with no call, no ban and a full bucket again (nothing to recall)."""
        rate = self.limits.invite_rate
        refill = self.limits.invite_burst / rate if rate > 0 else 0.0
        idle = [
            key
            for key, e in self._sources.items()
            if e.calls == 0 and e.banned_until <= now and now - e.stamp >= refill
        ]
        for key in idle:
            del self._sources[key]
