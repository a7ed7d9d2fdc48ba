"""The development SMS gateway (F-RS6): with no CONFERO_SMS_URL, an SMS is written to the
``sms_outbox`` table instead of a provider, and administrators read it at
``GET /api/v1/sms/outbox``. Same port as the real gateway, so the notice worker, the
allowance and the panel behave exactly as in production."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from confero.app.ports import Clock, UnitOfWorkFactory
from confero.domain.notices import OutboxSms
from confero.store.models import SmsOutboxRow
from confero.store.repositories import utc


class SqlSmsOutbox:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, to: str, sender: str, text: str, created_at: datetime) -> None:
        await self._s.execute(
            insert(SmsOutboxRow).values(to=to, sender=sender, text=text, created_at=utc(created_at))
        )

    async def list(self, limit: int = 200) -> Sequence[OutboxSms]:
        rows = await self._s.execute(
            select(SmsOutboxRow).order_by(SmsOutboxRow.id.desc()).limit(limit)
        )
        return [OutboxSms(r.id, r.to, r.sender, r.text, utc(r.created_at)) for r in rows.scalars()]


class OutboxSmsGateway:
    """Implements the ``SmsGateway`` port by storing the message."""

    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, sender: str) -> None:
        self._uow = uow
        self._clock = clock
        self._sender = sender

    async def send(self, to: str, text: str) -> None:
        async with self._uow() as uow:
            await uow.sms_outbox.add(to, self._sender, text, self._clock.now())
            await uow.commit()
