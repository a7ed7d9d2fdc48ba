"""The node's metrics (issue 18, observe/metrics.py): Prometheus conventions, a registry
per node, state read when scraped, and refreshers that cannot break a scrape. Parsed
back with ``prometheus_client.parser`` as a scraper would."""

from __future__ import annotations

import asyncio

from prometheus_client.parser import text_string_to_metric_families

from confero.observe.metrics import REFUSAL_REASONS, Metrics

#: Every family the issue asks for, by its exposed name.
EXPECTED = {
    "confero_calls_admitted": "counter",
    "confero_calls_refused": "counter",
    "confero_pin_failures": "counter",
    "confero_media_tick_duration_seconds": "histogram",
    "confero_media_tick_lateness_seconds": "histogram",
    "confero_media_leg_receive_loss_ratio": "histogram",
    "confero_media_leg_receive_jitter_seconds": "histogram",
    "confero_http_request_duration_seconds": "histogram",
    "confero_notices": "counter",
    "confero_notices_queued": "gauge",
    "confero_db_pool_wait_seconds": "histogram",
    "confero_conferences_live": "gauge",
    "confero_participants": "gauge",
    "confero_websockets_open": "gauge",
    "confero_sfu_forwarded_frames": "counter",
    "confero_sfu_keyframe_requests": "counter",
    "confero_media_legs": "gauge",
}
#: Labels that would make one series per room, person or call.
UNBOUNDED = {"room", "room_id", "participant", "participant_id", "call_id", "path", "token"}


def parse(metrics: Metrics) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    text = asyncio.run(metrics.exposition()).decode()
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, {})[tuple(sorted(s.labels.items()))] = s.value
    return out


def families(metrics: Metrics) -> dict[str, str]:
    text = asyncio.run(metrics.exposition()).decode()
    return {f.name: f.type for f in text_string_to_metric_families(text)}


def test_every_metric_is_there_from_the_start_and_follows_the_conventions() -> None:
    metrics = Metrics()
    found = families(metrics)
    assert found == EXPECTED
    samples = parse(metrics)
    for name, series in samples.items():
        assert name.startswith("confero_"), name
        for labels in series:
            assert not UNBOUNDED & {k for k, _ in labels}, (name, labels)
        if name[: -len("_total")] in EXPECTED and EXPECTED[name[: -len("_total")]] == "counter":
            assert name.endswith("_total")
    # every reason and both channels are there at zero, so rate() works from the start
    refused = samples["confero_calls_refused_total"]
    assert {dict(k)["reason"] for k in refused} == set(REFUSAL_REASONS)
    assert samples["confero_participants"] == {
        (("channel", "browser"),): 0,
        (("channel", "phone"),): 0,
    }


def test_two_nodes_in_one_process_count_apart() -> None:
    one, two = Metrics(), Metrics()
    one.pin_failures.inc()
    one.refuse("wrong_pin")
    one.observe_tick(0.003, 0.0004)
    assert parse(one)["confero_pin_failures_total"][()] == 1
    assert parse(two)["confero_pin_failures_total"][()] == 0
    assert parse(one)["confero_calls_refused_total"][(("reason", "wrong_pin"),)] == 1
    assert parse(one)["confero_media_tick_lateness_seconds_count"][()] == 1
    assert parse(two)["confero_media_tick_lateness_seconds_count"][()] == 0


def test_state_is_read_when_scraped() -> None:
    metrics = Metrics()
    rooms = [["phone", "browser"], ["browser", "browser", "api"]]
    sockets = {"room": 3}
    metrics.watch_conferences(lambda: rooms)
    metrics.watch_sockets(lambda: sockets)
    metrics.watch_sockets(lambda: {"people": 2})
    metrics.watch_sfu(lambda: (120, 4))
    metrics.watch_legs(lambda: 5)
    samples = parse(metrics)
    assert samples["confero_conferences_live"][()] == 2
    participants = {dict(k)["channel"]: v for k, v in samples["confero_participants"].items()}
    assert participants == {"phone": 1, "browser": 3, "api": 1}
    sockets_open = {dict(k)["socket"]: v for k, v in samples["confero_websockets_open"].items()}
    assert sockets_open == {"room": 3, "people": 2}
    assert samples["confero_sfu_forwarded_frames_total"][()] == 120
    assert samples["confero_sfu_keyframe_requests_total"][()] == 4
    assert samples["confero_media_legs"][()] == 5
    # nothing was kept: the next scrape reads the node again
    rooms.pop()
    sockets["room"] = 0
    samples = parse(metrics)
    assert samples["confero_conferences_live"][()] == 1
    assert samples["confero_websockets_open"][(("socket", "room"),)] == 0


def test_a_refresher_runs_before_the_scrape_and_its_failure_keeps_the_last_value() -> None:
    metrics = Metrics()
    queued = [7]

    async def count() -> None:
        if not queued:
            raise RuntimeError("database away")
        metrics.notices_queued.set(queued[0])

    metrics.refresh_with(count)
    assert parse(metrics)["confero_notices_queued"][()] == 7
    queued.clear()
    assert parse(metrics)["confero_notices_queued"][()] == 7


def test_bounded_labels_for_what_clients_choose() -> None:
    metrics = Metrics()
    metrics.refuse("something new")  # not a label value of its own
    metrics.observe_http("/api/v1/rooms/{room_id}", "BREW", 404, 0.01)
    metrics.notice("email", "sent")
    metrics.notice("pigeon", "sent")  # not a channel: not counted
    samples = parse(metrics)
    assert samples["confero_calls_refused_total"][(("reason", "overloaded"),)] == 1
    (labels,) = samples["confero_http_request_duration_seconds_count"]
    assert dict(labels) == {"route": "/api/v1/rooms/{room_id}", "method": "other", "status": "404"}
    notices = samples["confero_notices_total"]
    assert notices[(("channel", "email"), ("outcome", "sent"))] == 1
    assert sum(notices.values()) == 1


def test_leg_samples_go_to_both_histograms_by_channel() -> None:
    metrics = Metrics()
    metrics.observe_leg(0.05, 0.012)
    metrics.observe_leg(0.0, 0.002, channel="browser")
    metrics.observe_leg(0.5, 0.2, channel="carrier pigeon")  # not a channel: not counted
    samples = parse(metrics)
    phone, browser = ("channel", "phone"), ("channel", "browser")
    loss = "confero_media_leg_receive_loss_ratio"
    assert samples[f"{loss}_count"] == {(phone,): 1, (browser,): 1}
    assert samples[f"{loss}_bucket"][(phone, ("le", "0.02"))] == 0
    assert samples[f"{loss}_bucket"][(phone, ("le", "0.05"))] == 1
    assert samples[f"{loss}_bucket"][(browser, ("le", "0.0"))] == 1
    assert samples["confero_media_leg_receive_jitter_seconds_sum"][(phone,)] == 0.012
    assert samples["confero_media_leg_receive_jitter_seconds_sum"][(browser,)] == 0.002
