"""Migrations from an empty database to head, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.store.database import alembic_config, current_revision, upgrade

TABLES = {
    "accounts",
    "auth_tokens",
    "rooms",
    "room_members",
    "reservations",
    "chat_messages",
    "activity_log",
}


def head() -> str:
    """The newest revision: the tests hold for whichever migration is last."""
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision is not None
    return revision


async def _tables(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))


async def test_upgrade_from_empty_creates_every_table(engine: AsyncEngine) -> None:
    assert await current_revision(engine) is None
    assert not (await _tables(engine)) & TABLES
    await upgrade(engine)
    assert await _tables(engine) >= TABLES
    assert await current_revision(engine) == head()


async def test_upgrade_twice_changes_nothing(engine: AsyncEngine) -> None:
    await upgrade(engine)
    before = await _tables(engine)
    await upgrade(engine)
    assert await _tables(engine) == before
    assert await current_revision(engine) == head()


async def test_models_match_the_migration(engine: AsyncEngine) -> None:
    """Autogenerate finds nothing to add: models and migrations say the same."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from confero.store.models import Base

    await upgrade(engine)
    async with engine.connect() as conn:
        diff = await conn.run_sync(
            lambda c: compare_metadata(MigrationContext.configure(c), Base.metadata)
        )
    assert diff == []
