"""HTTP observability (issue 18, web/observe.py): request ids, durations by route
template, and ``/metrics`` only where it was asked for and only to this host."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.types import Receive, Scope, Send

from confero.app.services import Services
from confero.observe import logs
from confero.observe.metrics import Metrics
from confero.web.app import create_app
from confero.web.observe import RequestObserver, exposition_app


def durations(metrics: Metrics) -> dict[tuple[str, str, str], float]:
    """Request counts by (route, method, status) from the registry's exposition."""
    from prometheus_client import generate_latest

    out = {}
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        for s in family.samples:
            if s.name == "confero_http_request_duration_seconds_count":
                out[(s.labels["route"], s.labels["method"], s.labels["status"])] = s.value
    return out


@pytest.fixture
async def observed(services: Services) -> AsyncIterator[tuple[httpx.AsyncClient, Metrics]]:
    metrics = Metrics()
    app = create_app(services, metrics=metrics, metrics_route=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c, metrics


async def test_every_answer_carries_a_request_id_and_keeps_a_plain_one(
    observed: tuple[httpx.AsyncClient, Metrics],
) -> None:
    client, _ = observed
    fresh = await client.get("/api/health/live")
    assert len(fresh.headers["x-request-id"]) == 32
    other = await client.get("/api/health/live")
    assert other.headers["x-request-id"] != fresh.headers["x-request-id"]
    kept = await client.get("/api/health/live", headers={"X-Request-ID": "lb-7f3a.2"})
    assert kept.headers["x-request-id"] == "lb-7f3a.2"
    for forged in ("x" * 65, "two words", "a\tb", "id\\n"):
        answer = await client.get("/nothing-here", headers={"X-Request-ID": forged})
        assert answer.status_code == 404
        assert answer.headers["x-request-id"] not in (forged, "")


async def test_durations_are_labelled_by_route_template_never_by_path(
    observed: tuple[httpx.AsyncClient, Metrics],
) -> None:
    client, metrics = observed
    await client.get("/api/v1/rooms/0123456789abcdef")
    await client.get("/api/v1/rooms/fedcba9876543210")
    await client.get("/no/such/thing/12345")
    await client.get("/static/css/confero.css")
    seen = durations(metrics)
    assert seen[("/api/v1/rooms/{room_id}", "GET", "401")] == 2
    assert seen[("unmatched", "GET", "404")] == 1
    assert seen[("/static/{path}", "GET", "200")] == 1
    assert not any("0123456789abcdef" in route or "12345" in route for route, _, _ in seen)


async def test_the_request_id_is_in_the_log_context_while_the_request_runs() -> None:
    seen: list[str | None] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(logs.request_id.get())
        logging.getLogger("tests.web.observe").info("handling")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    metrics = Metrics()
    transport = httpx.ASGITransport(app=RequestObserver(app, metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        answer = await client.get("/x", headers={"X-Request-ID": "req-1"})
    assert seen == ["req-1"]
    assert answer.headers["x-request-id"] == "req-1"
    assert logs.request_id.get() is None
    assert durations(metrics) == {("unmatched", "GET", "204"): 1}


async def test_a_failing_app_is_measured_as_a_500() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise RuntimeError("bug")

    metrics = Metrics()
    transport = httpx.ASGITransport(app=RequestObserver(app, metrics), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        await client.get("/x")
    assert durations(metrics) == {("unmatched", "GET", "500"): 1}


async def test_metrics_on_the_main_port_answer_loopback_only(
    observed: tuple[httpx.AsyncClient, Metrics],
) -> None:
    client, _ = observed  # httpx's ASGI client connects from 127.0.0.1
    answer = await client.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain; version=")
    names = {f.name for f in text_string_to_metric_families(answer.text)}
    assert "confero_participants" in names
    proxied = await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert proxied.status_code == 404
    forwarded = await client.get("/metrics", headers={"Forwarded": "for=203.0.113.9"})
    assert forwarded.status_code == 404


async def test_metrics_refuse_a_remote_client(services: Services) -> None:
    app = create_app(services, metrics=Metrics(), metrics_route=True)
    transport = httpx.ASGITransport(app=app, client=("192.0.2.10", 4711))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        assert (await client.get("/metrics")).status_code == 404


async def test_no_metrics_route_unless_asked(client: httpx.AsyncClient, services: Services) -> None:
    assert (await client.get("/metrics")).status_code == 404
    app = create_app(services, metrics=Metrics())  # the port of its own serves them
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        assert (await c.get("/metrics")).status_code == 404


async def test_the_metrics_listener_serves_metrics_and_nothing_else() -> None:
    metrics = Metrics()
    metrics.pin_failures.inc(3)
    transport = httpx.ASGITransport(app=exposition_app(metrics))
    async with httpx.AsyncClient(transport=transport, base_url="http://m") as client:
        answer = await client.get("/metrics")
        assert answer.status_code == 200
        assert "confero_pin_failures_total 3.0" in answer.text
        assert (await client.get("/")).status_code == 404
        assert (await client.get("/api/health")).status_code == 404
        assert (await client.post("/metrics")).status_code == 404
