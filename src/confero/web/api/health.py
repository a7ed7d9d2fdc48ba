"""Health. ``/api/health``: liveness and readiness in one, the process answers and the
database does too; with the media tick's counters since the start (issue 14's soak reads
them as differences: ticks late by more than 5 and 20 ms).

Issue 18 split the probes: ``/api/health/live`` (the process answers, nothing else) and
``/api/health/ready`` (the checks the composition root registers in
``Services.ready_checks``: database, SIP listener, media engine). Each check is bounded
by ``READY_TIMEOUT``, so a hung database makes the probe say 503 in time, not hang.
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from confero.app.ports import clock_counters
from confero.web.deps import ServicesDep
from confero.web.problems import problem

#: Seconds one readiness check may take before it counts as failed.
READY_TIMEOUT = 2.0

router = APIRouter(tags=["health"])


@router.get("/api/health")
async def health(svc: ServicesDep) -> dict[str, object]:
    await svc.accounts.count()
    answer: dict[str, object] = {
        "status": "ok",
        "live_conferences": len(svc.registry.live_rooms()),
    }
    if svc.media_clock is not None:
        clock = svc.media_clock
        answer["media"] = {
            **clock_counters(clock),
            "max_late_ms": round(clock.max_late * 1000, 1),
        }
        parts = getattr(clock, "parts", None)  # with media workers: each clock's own
        if parts is not None:
            answer["media"]["clocks"] = parts()  # type: ignore[index]
    return answer


# ---------------------------------------------------------------- issue 18
# Probes for a load balancer or an orchestrator, cheap enough to poll every second: the
# route above stays as it is (benchmarks and the soak read its ``media`` counters).


@router.get("/api/health/live")
async def live() -> dict[str, str]:
    """The process answers: no I/O at all (a restart is the cure when this fails)."""
    return {"status": "ok"}


@router.get("/api/health/ready", response_model=None)
async def ready(svc: ServicesDep) -> dict[str, object] | JSONResponse:
    """Ready for users: every check the node registered passes (the database answers
    ``SELECT 1``, the SIP listener is open when SIP is on, the media tick runs). 503
    problem+json ``server.not_ready`` naming what failed otherwise."""
    checks: dict[str, bool] = {}
    for name, check in svc.ready_checks.items():
        try:
            checks[name] = bool(await asyncio.wait_for(check(), READY_TIMEOUT))
        except Exception:  # a check that fails or hangs says "not ready", never 500
            checks[name] = False
    failed = sorted(name for name, ok in checks.items() if not ok)
    if failed:
        return problem(503, "server.not_ready", f"not ready: {', '.join(failed)}", checks=checks)
    return {"status": "ready", "checks": checks}
