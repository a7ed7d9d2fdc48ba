"""GET /api/health: the database answers, and the media tick's counters are there for the
soak (issue 14) once a node has attached its engine. Issue 18: ``/api/health/live``
needs nothing, ``/api/health/ready`` runs the node's checks and says 503 in time when
one fails or hangs."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.media.engine import TickStats
from confero.server import Node
from confero.store.database import create_engine, ping
from confero.web.api import health
from tests.web.support import assert_problem


async def test_health_without_a_media_engine(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "live_conferences": 0}


async def test_health_reports_the_tick_counters(
    client: httpx.AsyncClient, services: Services
) -> None:
    services.media_clock = TickStats(
        ticks=1000, late=7, late_20ms=3, late_waited=2, late_other=1, max_late=0.0314
    )
    media = (await client.get("/api/health")).json()["media"]
    assert media == {
        "ticks": 1000,
        "late_5ms": 7,
        "late_20ms": 3,
        "late_20ms_waited": 2,
        "late_20ms_own_work": 0,
        "late_20ms_other": 1,
        "max_late_ms": 31.4,
    }


# ------------------------------------------------------------------ issue 18 probes


async def test_live_answers_without_touching_anything(
    client: httpx.AsyncClient, services: Services
) -> None:
    async def broken() -> bool:
        raise RuntimeError("database away")

    services.ready_checks["database"] = broken
    answer = await client.get("/api/health/live")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


async def test_ready_with_the_database_answering(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/health/ready")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"status": "ready", "checks": {"database": True}}


async def test_ready_says_503_naming_what_fails(
    client: httpx.AsyncClient, services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Long enough for the database to answer on a busy CI machine (0.1 s was not).
    monkeypatch.setattr(health, "READY_TIMEOUT", 1.0)

    async def hangs() -> bool:
        await asyncio.sleep(60)
        return True

    async def down() -> bool:
        return False

    services.ready_checks["sip"] = hangs
    services.ready_checks["media"] = down
    answer = await client.get("/api/health/ready")
    body = assert_problem(answer, 503, "server.not_ready")
    assert body["checks"] == {"database": True, "sip": False, "media": False}
    assert "media" in body["detail"] and "sip" in body["detail"]


async def test_ready_follows_a_real_node(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    """The checks the composition root registers: the media tick and the SIP listener
    (a node built but not started is not ready; started it is; stopped it is not)."""
    settings = settings.model_copy(update={"sip_port": 0})
    node = Node.build(services, settings)
    assert set(services.ready_checks) == {"database", "media", "sip"}
    assert (await client.get("/api/health/ready")).status_code == 503
    await node.start()
    try:
        answer = await client.get("/api/health/ready")
        assert answer.status_code == 200, answer.text
        assert answer.json()["checks"] == {"database": True, "media": True, "sip": True}
    finally:
        await node.stop()
    body = assert_problem(await client.get("/api/health/ready"), 503, "server.not_ready")
    assert body["checks"]["media"] is False and body["checks"]["sip"] is False


async def test_ready_when_the_database_file_is_gone(
    client: httpx.AsyncClient, services: Services, settings: Settings
) -> None:
    """A real failure of the database check: the file's directory is not there."""
    engine = create_engine(f"sqlite+aiosqlite:///{settings.data_dir}/missing/dir/x.db")
    (settings.data_dir / "missing" / "dir").rmdir()
    services.ready_checks["database"] = lambda: ping(engine)
    try:
        body = assert_problem(await client.get("/api/health/ready"), 503, "server.not_ready")
        assert body["checks"] == {"database": False}
    finally:
        await engine.dispose()
