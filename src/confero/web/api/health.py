"""Liveness and readiness in one: the process answers and the database does too."""

from __future__ import annotations

from fastapi import APIRouter

from confero.web.deps import ServicesDep

router = APIRouter(tags=["health"])


@router.get("/api/health")
async def health(svc: ServicesDep) -> dict[str, object]:
    await svc.accounts.count()
    return {"status": "ok", "live_conferences": len(svc.registry.live_rooms())}
