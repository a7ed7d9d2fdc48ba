"""The development SMS outbox (F-RS6): with no CONFERO_SMS_URL, SMS are kept, not sent;
administrators read here what would have gone out."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from confero.web.deps import AdminDep, ServicesDep

router = APIRouter(prefix="/api/v1/sms", tags=["sms"])


class OutboxSmsOut(BaseModel):
    id: int
    to: str
    sender: str
    text: str
    created_at: datetime


@router.get("/outbox", response_model=list[OutboxSmsOut])
async def outbox(admin: AdminDep, svc: ServicesDep) -> list[OutboxSmsOut]:
    """Newest first."""
    return [
        OutboxSmsOut(id=m.id, to=m.to, sender=m.sender, text=m.text, created_at=m.created_at)
        for m in await svc.notices.outbox()
    ]
