"""The notice table on SQLite and PostgreSQL (F-RS5, F-RS6): claims never overlap, a
lease that ran out is taken over, and the SMS allowance is never overdrawn."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from confero.app.ports import UnitOfWorkFactory
from confero.domain.accounts import Account
from confero.domain.notices import Channel, Kind, Notice, State
from tests.notify.factory import invitation

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def notice(n: int, due: datetime = NOW) -> Notice:
    return Notice(
        id=f"n{n:03d}",
        account_id="acct",
        room_id="room",
        reservation_id="r1",
        channel=Channel.EMAIL,
        recipient=f"guest{n}@example.org",
        kind=Kind.INVITATION,
        due_at=due,
        created_at=NOW,
        invitation=invitation(),
    )


async def test_a_stored_notice_reads_back_the_same(uow: UnitOfWorkFactory) -> None:
    async with uow() as u:
        await u.notices.add(notice(1))
        await u.commit()
    async with uow() as u:
        (found,) = await u.notices.for_reservation("r1")
    assert found == notice(1)


async def test_claims_never_overlap_and_a_lapsed_lease_is_taken_over(
    uow: UnitOfWorkFactory,
) -> None:
    async with uow() as u:
        for n in range(10):
            await u.notices.add(notice(n))
        await u.notices.add(notice(99, due=NOW + timedelta(hours=1)))
        await u.commit()

    async def claim(now: datetime) -> set[str]:
        async with uow() as u:
            got = await u.notices.claim(now, now + LEASE, 4)
            await u.commit()
        return {n.id for n in got}

    taken: list[str] = []
    while batches := [b for b in await asyncio.gather(*(claim(NOW) for _ in range(3))) if b]:
        taken += [i for b in batches for i in b]
    assert len(taken) == len(set(taken)) == 10  # each due notice once, the later one not
    async with uow() as u:
        assert await u.notices.next_due(NOW) == NOW + LEASE  # when the leases run out
    # A worker that died: its notices are taken over once the lease ran out.
    assert len(await claim(NOW + LEASE)) == 4
    async with uow() as u:
        await u.notices.mark_sent("n000", NOW)
        await u.notices.cancel(["n000", "n001"], NOW)
        await u.commit()
    async with uow() as u:
        states = {n.id: n.state for n in await u.notices.for_reservation("r1")}
    assert (states["n000"], states["n001"]) == (State.SENT, State.CANCELLED)


async def test_the_sms_allowance_is_never_overdrawn(uow: UnitOfWorkFactory) -> None:
    async with uow() as u:
        await u.accounts.add(
            Account("acct", "a@example.org", "A", "x", NOW, sms_allowance=3, sms_used=1)
        )
        await u.commit()

    async def take() -> bool:
        async with uow() as u:
            ok = await u.notices.take_sms_credit("acct")
            await u.commit()
        return ok

    results = await asyncio.gather(*(take() for _ in range(5)))
    assert sorted(results) == [False, False, False, True, True]
    async with uow() as u:
        assert await u.notices.sms_left("acct") == 0
        await u.notices.refund_sms_credit("acct")
        await u.commit()
    async with uow() as u:
        assert await u.notices.sms_left("acct") == 1
