"""GET /api/health: the database answers, and the media tick's counters are there for the
soak (issue 14) once a node has attached its engine."""

from __future__ import annotations

import httpx

from confero.app.services import Services
from confero.media.engine import TickStats


async def test_health_without_a_media_engine(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "live_conferences": 0}


async def test_health_reports_the_tick_counters(
    client: httpx.AsyncClient, services: Services
) -> None:
    services.media_clock = TickStats(ticks=1000, late=7, late_20ms=2, max_late=0.0314)
    media = (await client.get("/api/health")).json()["media"]
    assert media == {"ticks": 1000, "late_5ms": 7, "late_20ms": 2, "max_late_ms": 31.4}
