"""The accounts' issue-9 columns (disabled, time zone, SMS allowance) on both databases:
an existing database migrates with its accounts kept, and the repository round-trips,
lists and signs accounts out."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.app.ports import UnitOfWorkFactory
from confero.domain.accounts import Account
from confero.store.database import alembic_config, upgrade
from confero.store.uow import make_uow_factory

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _migrate(action: str, revision: str) -> Callable[[Connection], None]:
    def run(connection: Connection) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = connection
        getattr(command, action)(cfg, revision)

    return run


async def _count(engine: AsyncEngine, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one())


async def test_existing_accounts_migrate_enabled_in_utc_without_sms(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.run_sync(_migrate("upgrade", "0001"))
        await conn.execute(
            text(
                "INSERT INTO accounts (id, email, display_name, password_hash, is_admin,"
                " created_at) VALUES ('a1', 'old@example.org', 'Old', 'scrypt$x$y', :admin, :at)"
            ),
            {"admin": True, "at": T0},
        )
        await conn.execute(
            text("INSERT INTO auth_tokens VALUES ('t1', 'a1', 'session', :at, :at)"), {"at": T0}
        )

    await upgrade(engine)

    async with make_uow_factory(engine)() as uow:
        old = await uow.accounts.get("a1")
    assert old is not None
    assert (old.email, old.display_name, old.is_admin) == ("old@example.org", "Old", True)
    assert old.disabled is False
    assert old.time_zone == "UTC"
    assert (old.sms_allowance, old.sms_used, old.sms_left) == (0, 0, 0)
    # Nothing that hangs off the account went with the change (no table copy on SQLite).
    assert await _count(engine, "auth_tokens") == 1

    async with engine.begin() as conn:
        await conn.run_sync(_migrate("downgrade", "0001"))
    assert await _count(engine, "accounts") == 1
    assert await _count(engine, "auth_tokens") == 1


def _account(email: str) -> Account:
    return Account(uuid.uuid4().hex, email, "Host", "scrypt$x$y", T0)


async def test_account_settings_round_trip_and_list(uow: UnitOfWorkFactory) -> None:
    zoe, abe = _account("zoe@example.org"), _account("abe@example.org")
    zoe.time_zone, zoe.sms_allowance, zoe.sms_used = "Europe/Warsaw", 10, 3
    async with uow() as u:
        await u.accounts.add(zoe)
        await u.accounts.add(abe)
        await u.commit()

    changed = replace(abe, display_name="Abe", disabled=True, is_admin=True, sms_allowance=5)
    async with uow() as u:
        await u.accounts.update(changed)
        await u.commit()

    async with uow() as u:
        assert await u.accounts.get(zoe.id) == zoe
        assert await u.accounts.get(abe.id) == changed
        assert [a.email for a in await u.accounts.list_all()] == [
            "abe@example.org",
            "zoe@example.org",
        ]


async def test_signing_an_account_out_everywhere_but_here(uow: UnitOfWorkFactory) -> None:
    ann, ben = _account("ann@example.org"), _account("ben@example.org")
    later = T0 + timedelta(days=1)
    async with uow() as u:
        await u.accounts.add(ann)
        await u.accounts.add(ben)
        for token, owner in (("a1", ann), ("a2", ann), ("a3", ann), ("b1", ben)):
            await u.tokens.add(token, owner.id, "session", T0, later)
        await u.commit()

    async with uow() as u:
        await u.tokens.delete_for_account(ann.id, except_hash="a2")
        await u.commit()
    async with uow() as u:
        assert [await u.tokens.get(t) is not None for t in ("a1", "a2", "a3", "b1")] == [
            False,
            True,
            False,
            True,
        ]
        await u.tokens.delete_for_account(ann.id)
        await u.commit()
    async with uow() as u:
        assert await u.tokens.get("a2") is None
        assert await u.tokens.get("b1") is not None


async def test_an_admin_edit_never_overwrites_the_sms_count(uow: UnitOfWorkFactory) -> None:
    """An SMS sent while an administrator edits the account still counts: the edit was
    made from the account as it was before the send."""
    account = replace(_account("sms@example.org"), sms_allowance=5)
    async with uow() as u:
        await u.accounts.add(account)
        await u.commit()
    async with uow() as u:
        assert await u.notices.take_sms_credit(account.id)
        await u.commit()
    async with uow() as u:
        await u.accounts.update(replace(account, sms_allowance=10))  # stale: sms_used 0
        await u.commit()
    async with uow() as u:
        stored = await u.accounts.get(account.id)
    assert stored is not None
    assert (stored.sms_allowance, stored.sms_used, stored.sms_left) == (10, 1, 9)
