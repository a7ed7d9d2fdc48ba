"""The activity log names who did a thing, not only their participant id (issue 12)."""

from __future__ import annotations

from confero.app.services import Services
from confero.domain import commands as c
from confero.domain.accounts import Account
from confero.domain.roles import Role
from tests.web.support import PASSWORD


async def test_entries_carry_the_name_of_who_acted(services: Services) -> None:
    host: Account = await services.accounts.create("host@example.org", PASSWORD, "Hanna")
    room = await services.rooms.create(host, "Bridge")
    pid, _ = await services.conferences.join(
        room, display_name="Hanna", role=Role.MODERATOR, channel="browser", identity="h"
    )
    await services.conferences.join(
        room, display_name="Piet", role=Role.PARTICIPANT, channel="phone", identity="p"
    )
    await services.conferences.command(room, c.MuteAll(by=pid))
    await services.conferences.command(room, c.Lock(by=pid))
    await services.bus.drain()
    log = {e.kind: e for e in await services.rooms.list_activity(room.id)}
    assert log["all_mute_changed"].detail["actor_name"] == "Hanna"
    assert log["lock_changed"].detail["actor_name"] == "Hanna"
    assert log["joined"].detail["actor_name"] in {"Hanna", "Piet"}


async def test_a_mute_all_is_one_entry_naming_whom_it_muted(services: Services) -> None:
    """Not a row per participant: in a room of 1,000 that was a thousand writes."""
    host: Account = await services.accounts.create("host@example.org", PASSWORD, "Hanna")
    room = await services.rooms.create(host, "Bridge")
    pid, _ = await services.conferences.join(
        room, display_name="Hanna", role=Role.MODERATOR, channel="browser", identity="h"
    )
    others = [
        (
            await services.conferences.join(
                room, display_name=n, role=Role.PARTICIPANT, channel="phone", identity=n
            )
        )[0]
        for n in ("Piet", "Jan", "Els")
    ]
    await services.conferences.command(room, c.MuteAll(by=pid))
    await services.bus.drain()
    entries = await services.rooms.list_activity(room.id)
    assert [e.kind for e in entries].count("mute_changed") == 0
    (entry,) = [e for e in entries if e.kind == "all_mute_changed"]
    assert sorted(entry.detail["participant_ids"]) == sorted(others)
