"""Liveness and readiness in one: the process answers and the database does too; with
the media tick's counters since the start (issue 14's soak reads them as differences:
ticks late by more than 5 and 20 ms)."""

from __future__ import annotations

from fastapi import APIRouter

from confero.web.deps import ServicesDep

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
            "ticks": clock.ticks,
            "late_5ms": clock.late,
            "late_20ms": clock.late_20ms,
            "max_late_ms": round(clock.max_late * 1000, 1),
        }
    return answer
