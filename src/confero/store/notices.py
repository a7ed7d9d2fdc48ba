"""Notice jobs in the database (F-RS5, F-RS6): rows <-> ``Notice``, and the claim that
lets several workers share one table without sending a notice twice.

A worker claims due notices in one short transaction: PostgreSQL skips rows another
worker has locked (``FOR UPDATE SKIP LOCKED``); on both databases the conditional
``UPDATE ... WHERE state = 'pending' AND claimed_until is free`` is the guard (SQLite
serialises writers, so the second worker's update finds the lease taken). The SMS
credit is taken by one conditional update of the account, so the allowance is never
overdrawn whatever runs at the same time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from confero.domain.notices import Channel, Invitation, Kind, Notice, State
from confero.store.models import AccountRow, NoticeRow
from confero.store.repositories import utc

_ERROR_LENGTH = 500


def invitation_json(inv: Invitation) -> dict[str, Any]:
    return {
        "kind": inv.kind.value,
        "uid": inv.uid,
        "sequence": inv.sequence,
        "title": inv.title,
        "room_name": inv.room_name,
        "start": utc(inv.start).isoformat(),
        "end": utc(inv.end).isoformat(),
        "time_zone": inv.time_zone,
        "language": inv.language,
        "dial_in_number": inv.dial_in_number,
        "conference_number": inv.conference_number,
        "pin": inv.pin,
        "join_url": inv.join_url,
        "organizer_name": inv.organizer_name,
        "organizer_email": inv.organizer_email,
    }


def invitation_of(data: dict[str, Any]) -> Invitation:
    fields = dict(data)
    return Invitation(
        **{
            **fields,
            "kind": Kind(fields["kind"]),
            "start": datetime.fromisoformat(fields["start"]),
            "end": datetime.fromisoformat(fields["end"]),
        }
    )


def _optional(value: datetime | None) -> datetime | None:
    return utc(value) if value is not None else None


def _notice(row: NoticeRow) -> Notice:
    return Notice(
        id=row.id,
        account_id=row.account_id,
        room_id=row.room_id,
        reservation_id=row.reservation_id,
        channel=Channel(row.channel),
        recipient=row.recipient,
        kind=Kind(row.kind),
        due_at=utc(row.due_at),
        created_at=utc(row.created_at),
        invitation=invitation_of(row.payload),
        state=State(row.state),
        attempts=row.attempts,
        next_try_at=utc(row.next_try_at),
        last_error=row.last_error,
        claimed_until=_optional(row.claimed_until),
        sent_at=_optional(row.sent_at),
    )


def _pending() -> Any:
    return NoticeRow.state == State.PENDING.value


def _free(now: datetime) -> Any:
    """No worker holds it (never claimed, or its lease ran out)."""
    return or_(NoticeRow.claimed_until.is_(None), NoticeRow.claimed_until <= now)


class SqlNotices:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, n: Notice) -> None:
        assert n.next_try_at is not None
        self._s.add(
            NoticeRow(
                id=n.id,
                reservation_id=n.reservation_id,
                account_id=n.account_id,
                room_id=n.room_id,
                channel=n.channel.value,
                recipient=n.recipient,
                kind=n.kind.value,
                due_at=utc(n.due_at),
                state=n.state.value,
                attempts=n.attempts,
                next_try_at=utc(n.next_try_at),
                last_error=n.last_error,
                claimed_until=_optional(n.claimed_until),
                sent_at=_optional(n.sent_at),
                created_at=utc(n.created_at),
                payload=invitation_json(n.invitation),
            )
        )
        await self._s.flush()

    async def get(self, notice_id: str) -> Notice | None:
        row = await self._s.get(NoticeRow, notice_id, populate_existing=True)
        return _notice(row) if row else None

    async def for_reservation(self, reservation_id: str) -> Sequence[Notice]:
        rows = await self._s.execute(
            select(NoticeRow)
            .where(NoticeRow.reservation_id == reservation_id)
            .order_by(NoticeRow.due_at, NoticeRow.created_at, NoticeRow.channel, NoticeRow.id)
            .execution_options(populate_existing=True)
        )
        return [_notice(r) for r in rows.scalars()]

    async def cancel(self, notice_ids: Sequence[str], now: datetime) -> None:
        if not notice_ids:
            return
        await self._s.execute(
            update(NoticeRow)
            .where(NoticeRow.id.in_(list(notice_ids)), _pending())
            .values(state=State.CANCELLED.value)
            .execution_options(synchronize_session=False)
        )

    async def sms_left(self, account_id: str) -> int:
        left = await self._s.execute(
            select(AccountRow.sms_allowance - AccountRow.sms_used).where(
                AccountRow.id == account_id
            )
        )
        return max(0, int(left.scalar() or 0))

    async def pending_sms(self, account_id: str) -> int:
        count = await self._s.execute(
            select(func.count())
            .select_from(NoticeRow)
            .where(
                NoticeRow.account_id == account_id,
                NoticeRow.channel == Channel.SMS.value,
                _pending(),
            )
        )
        return int(count.scalar_one())

    async def queued(self) -> int:
        count = await self._s.execute(select(func.count()).select_from(NoticeRow).where(_pending()))
        return int(count.scalar_one())

    async def next_due(self, now: datetime) -> datetime | None:
        now = utc(now)
        free = (
            await self._s.execute(
                select(func.min(NoticeRow.next_try_at)).where(_pending(), _free(now))
            )
        ).scalar()
        held = (
            await self._s.execute(
                select(func.min(NoticeRow.claimed_until)).where(
                    _pending(), NoticeRow.claimed_until > now
                )
            )
        ).scalar()
        found = [utc(v) for v in (free, held) if v is not None]
        return min(found) if found else None

    async def claim(self, now: datetime, until: datetime, limit: int) -> Sequence[Notice]:
        now = utc(now)
        due = and_(_pending(), NoticeRow.next_try_at <= now, _free(now))
        candidates = (
            await self._s.execute(
                select(NoticeRow.id)
                .where(due)
                .order_by(NoticeRow.next_try_at, NoticeRow.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).scalars()
        claimed: list[str] = []
        for notice_id in list(candidates):
            result = await self._s.execute(
                update(NoticeRow)
                .where(NoticeRow.id == notice_id, due)
                .values(claimed_until=utc(until))
                .execution_options(synchronize_session=False)
            )
            if cast(CursorResult[Any], result).rowcount == 1:
                claimed.append(notice_id)
        if not claimed:
            return []
        rows = await self._s.execute(
            select(NoticeRow)
            .where(NoticeRow.id.in_(claimed))
            .order_by(NoticeRow.next_try_at, NoticeRow.id)
            .execution_options(populate_existing=True)
        )
        return [_notice(r) for r in rows.scalars()]

    async def take_sms_credit(self, account_id: str) -> bool:
        result = await self._s.execute(
            update(AccountRow)
            .where(AccountRow.id == account_id, AccountRow.sms_used < AccountRow.sms_allowance)
            .values(sms_used=AccountRow.sms_used + 1)
            .execution_options(synchronize_session=False)
        )
        return cast(CursorResult[Any], result).rowcount == 1

    async def refund_sms_credit(self, account_id: str) -> None:
        await self._s.execute(
            update(AccountRow)
            .where(AccountRow.id == account_id, AccountRow.sms_used > 0)
            .values(sms_used=AccountRow.sms_used - 1)
            .execution_options(synchronize_session=False)
        )

    async def _set(self, notice_id: str, **values: object) -> None:
        await self._s.execute(
            update(NoticeRow)
            .where(NoticeRow.id == notice_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def release(self, notice_ids: Sequence[str]) -> None:
        """Hands claimed notices back untried (a worker that stops)."""
        if notice_ids:
            await self._s.execute(
                update(NoticeRow)
                .where(NoticeRow.id.in_(list(notice_ids)), _pending())
                .values(claimed_until=None)
                .execution_options(synchronize_session=False)
            )

    async def mark_sent(self, notice_id: str, now: datetime) -> None:
        # Unconditionally: a notice cancelled while it was being sent did go out.
        await self._set(
            notice_id,
            state=State.SENT.value,
            sent_at=utc(now),
            claimed_until=None,
            last_error=None,
        )

    async def mark_retry(
        self, notice_id: str, attempts: int, next_try_at: datetime, error: str
    ) -> None:
        await self._set(
            notice_id,
            attempts=attempts,
            next_try_at=utc(next_try_at),
            last_error=error[:_ERROR_LENGTH],
            claimed_until=None,
        )

    async def mark_done(
        self, notice_id: str, state: State, error: str | None, attempts: int | None = None
    ) -> None:
        assert state in (State.FAILED, State.SKIPPED, State.CANCELLED)
        values: dict[str, object] = {
            "state": state.value,
            "last_error": error[:_ERROR_LENGTH] if error else None,
            "claimed_until": None,
        }
        if attempts is not None:
            values["attempts"] = attempts
        await self._set(notice_id, **values)
