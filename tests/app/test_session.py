"""The participant session every channel uses (confero/app/session.py): one name rule,
knocking, leaving, the resume grace, what a participant follows, and commands that only
the conference authorizes."""

from __future__ import annotations

import asyncio
import gc
import weakref
from types import SimpleNamespace
from typing import cast

import pytest

from confero.app import contract
from confero.app import session as ps
from confero.app.conferences import build_command
from confero.app.services import Services
from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.participant import MAX_DISPLAY_NAME
from confero.domain.roles import Role
from confero.domain.rooms import Room

M, P = Role.MODERATOR, Role.PARTICIPANT
Sessions = ps.Sessions[str]


async def a_room(services: Services) -> Room:
    host = await services.accounts.create("host@example.org", "long-secret", "Host")
    return await services.rooms.create(host, "Board")


class Channel:
    """The least a channel does: follow its sessions' events, then let the map observe."""

    def __init__(self, services: Services, grace: float = 0.0) -> None:
        self.sessions: Sessions = ps.Sessions(services.conferences, grace=grace)
        self.followed: list[tuple[str, ps.Instruction]] = []
        services.bus.subscribe(self.event)

    def event(self, event: ev.Event) -> None:
        for s in self.sessions.in_room(event.room_id):
            self.followed += [(s.id, i) for i in s.follow(event)]
        self.sessions.observe(event)

    async def join(
        self,
        room: Room,
        name: str | None,
        role: Role = P,
        *,
        default_name: str = "",
        resume: str | None = None,
    ) -> ps.ParticipantSession[str]:
        session, _ = await self.sessions.join(
            room, channel="test", role=role, name=name, default_name=default_name, resume=resume
        )
        return session

    def of(self, session: ps.ParticipantSession[str]) -> list[ps.Instruction]:
        return [i for pid, i in self.followed if pid == session.id]


# ---------------------------------------------------------------- joining
def test_one_name_rule() -> None:
    assert ps.display_name("  Ann \t  Lee ") == "Ann Lee"
    assert ps.display_name(None, "Phone  0612345678") == "Phone 0612345678"
    assert ps.display_name("   ", "Account Name") == "Account Name"
    assert ps.display_name("x" * 200) == "x" * MAX_DISPLAY_NAME
    with pytest.raises(DomainError) as refused:
        ps.display_name(" ", "")
    assert refused.value.code == "auth.name_required"


async def test_every_channel_joins_with_the_same_rule(services: Services) -> None:
    room = await a_room(services)
    channel = Channel(services)
    phone = await channel.join(room, None, default_name="Phone " + "0" * 100)
    browser = await channel.join(room, "  Ann   Lee ")
    api = ps.ParticipantSession[None].start(
        services.conferences, room, channel="api", role=M, name=None, default_name="Host"
    )
    await api.join()
    names = {
        p["id"]: p["display_name"] for p in services.conferences.snapshot(room)["participants"]
    }
    assert names[phone.id] == ("Phone " + "0" * 100)[:MAX_DISPLAY_NAME]
    assert names[browser.id] == "Ann Lee"
    assert names[api.id] == "Host"
    assert browser.identity.startswith("test:") and browser.identity != phone.identity


async def test_knock_then_admit_or_deny(services: Services) -> None:
    room = await a_room(services)
    channel = Channel(services)
    host = await channel.join(room, "Host", M)
    await host.command("lock")
    ann = await channel.join(room, "Ann")
    bob = await channel.join(room, "Bob")
    assert ann.knocking and bob.knocking and not ann.entered
    assert channel.of(ann) == [ps.Knocking()]
    await host.command("admit", target=ann.id)
    assert ann.entered and not ann.knocking
    assert channel.of(ann)[-1] == ps.Entered(muted=False, volume=0)
    await host.command("deny", target=bob.id)
    assert channel.of(bob)[-1] == ps.Denied("denied")
    assert channel.sessions.get(bob.id) is None, "a denied knocker is forgotten"
    assert channel.sessions.get(ann.id) is ann


async def test_a_token_record_says_whether_the_conference_let_its_participant_in(
    services: Services,
) -> None:
    """Issue 16: the proof a rejoin elsewhere brings. Written by the server from the
    conference's events: a knocker's record says "not in" until it is admitted."""
    room = await a_room(services)
    channel = Channel(services)
    host = await channel.join(room, "Host", M)
    await host.command("lock")
    ann = await channel.join(room, "Ann")
    record = await channel.sessions.tokens.get(ann.token)
    assert record is not None and not record.admitted, "knocking is not being in"
    await host.command("admit", target=ann.id)
    for _ in range(50):
        record = await channel.sessions.tokens.get(ann.token)
        if record is not None and record.admitted:
            break
        await asyncio.sleep(0.01)
    assert record is not None and record.admitted and record.role is P
    host_record = await channel.sessions.tokens.get(host.token)
    assert host_record is not None and host_record.admitted and host_record.role is M


def test_no_client_body_can_claim_to_be_returning() -> None:
    """Only the server sets ``Join.returning``: a join is not a command a body names, and
    no command takes a ``returning`` argument."""
    with pytest.raises(DomainError) as refused:
        build_command("join", by=None, by_role=None, returning=True)
    assert refused.value.code == "command.unknown"
    with pytest.raises(ValueError, match="returning"):
        contract.check_arguments({"returning": True})


async def test_leave(services: Services) -> None:
    room = await a_room(services)
    channel = Channel(services)
    host = await channel.join(room, "Host", M)
    ann = await channel.join(room, "Ann")
    await ann.leave()
    await ann.leave()  # already gone: nothing
    assert services.conferences.participant(room.id, ann.id) is None
    assert channel.of(ann)[-1] == ps.Removed("left")
    assert channel.sessions.get(ann.id) is None
    assert channel.sessions.get(host.id) is host


# ---------------------------------------------------------------- the grace
async def test_a_drop_resumed_within_the_grace_is_the_same_participant(
    services: Services,
) -> None:
    room = await a_room(services)
    channel = Channel(services, grace=0.2)
    host = await channel.join(room, "Host", M)
    ann = await channel.join(room, "Ann")
    channel.sessions.drop(ann)
    await asyncio.sleep(0.05)
    assert await channel.sessions.resume(ann.token, room.id) is ann
    await asyncio.sleep(0.3)
    assert services.conferences.participant(room.id, ann.id) is not None, "still in"
    assert await channel.sessions.resume(ann.token, "another-room") is None
    assert await channel.sessions.resume("no-such-token", room.id) is None
    assert host.entered


async def test_after_the_grace_the_token_rejoins_with_the_same_role(
    services: Services,
) -> None:
    room = await a_room(services)
    channel = Channel(services, grace=0.05)
    await channel.join(room, "Host", M)
    mod = await channel.join(room, "Mod", M)
    channel.sessions.drop(mod)
    await asyncio.sleep(0.2)
    assert services.conferences.participant(room.id, mod.id) is None, "left after the grace"
    assert channel.sessions.get(mod.id) is None
    assert await channel.sessions.resume(mod.token, room.id) is None, "nothing to resume"
    back = await channel.join(room, "Mod again", P, resume=mod.token)
    assert back.id == mod.id, "the same participant comes back (issue 16: on any node)"
    assert back.identity == mod.identity and back.token == mod.token
    live = services.conferences.participant(room.id, back.id)
    assert live is not None and live.role is M, "the same role, as the conference recalls"


async def test_a_session_that_left_is_not_kept_alive_by_its_token(
    services: Services,
) -> None:
    """A room whose conference never ends (callers come and go all day) must not keep
    every participant who left: the token keeps an identity, not the session and what
    the channel linked to it (a phone call, its media leg)."""
    room = await a_room(services)
    channel = Channel(services)
    await channel.join(room, "Host", M)
    caller = await channel.join(room, "Caller")
    token, identity = caller.token, caller.identity
    caller.link = "the channel's call object"
    gone = weakref.ref(caller)
    await caller.leave()
    assert channel.sessions.get(caller.id) is None
    del caller
    gc.collect()
    assert gone() is None, "the session outlived its participant"
    back = await channel.join(room, "Caller again", resume=token)
    assert back.identity == identity, "the token still rejoins as the same identity"


# ---------------------------------------------------------------- following
def test_follow_turns_events_into_instructions() -> None:
    s = ps.ParticipantSession[None](
        conferences=None,  # type: ignore[arg-type]  # follow never asks the conference
        room=cast(Room, SimpleNamespace(id="r1")),  # follow reads only the room's id
        name="Ann",
        role=P,
        channel="test",
        identity="test:ann",
        token="t",
        account_id=None,
    )
    me, other = s.id, "other"
    r = "r1"
    view = ev.ParticipantView(me, "Ann", "participant", "test", True, False, 2)
    left = ev.ParticipantLeft(
        participant_id=me, display_name="Ann", reason="kicked", count=0, room_id=r
    )
    cases: list[tuple[ev.Event, list[ps.Instruction]]] = [
        (ev.Knocked(lobby_id=me, display_name="Ann", channel="test", room_id=r), [ps.Knocking()]),
        (
            ev.LobbyLeft(lobby_id=me, display_name="Ann", reason="denied", room_id=r),
            [ps.Denied("denied")],
        ),
        (ev.ParticipantJoined(participant=view, count=1, room_id=r), [ps.Entered(True, 2)]),
        (
            ev.MuteChanged(participant_id=me, muted=False, by=me, room_id=r),
            [ps.MuteChanged(False, True)],
        ),
        (
            ev.MuteChanged(participant_id=me, muted=True, by=other, room_id=r),
            [ps.MuteChanged(True, False)],
        ),
        (ev.MuteChanged(participant_id=other, muted=True, room_id=r), []),
        (
            ev.VolumeChanged(participant_id=me, level=3, at_limit=False, room_id=r),
            [ps.VolumeChanged(3, False)],
        ),
        (ev.AllMuteChanged(muted=True, room_id=r), []),
        (left, [ps.Removed("kicked")]),
        (ev.ConferenceEnded(reason="ended_by_host", room_id=r), [ps.Ended("ended_by_host")]),
        (ev.ConferenceEnded(reason="empty", room_id="r2"), []),
    ]
    for event, expected in cases:
        assert s.follow(event) == expected, event
        # Sessions.following hands an event only to the session it names (and an end
        # to all): whatever follow acts on must be named (a mute-all of 1,000 is cheap).
        if expected and not isinstance(event, ev.ConferenceEnded):
            assert ps.named(event) == me, event
    assert s.muted and s.volume == 3 and not s.entered


# ---------------------------------------------------------------- commands
async def test_a_command_is_authorized_by_the_conference_not_the_channel(
    services: Services,
) -> None:
    room = await a_room(services)
    channel = Channel(services)
    host = await channel.join(room, "Host", M)
    ann = await channel.join(room, "Ann")
    with pytest.raises(DomainError) as refused:
        await ann.command("mute_all")
    assert refused.value.code == "conference.moderator_only"
    assert refused.value.kind.prompt == "moderator_only", "the registry says what to play"
    await host.command("mute_all")
    assert ann.muted and not host.muted
    assert channel.of(ann)[-1] == ps.MuteChanged(muted=True, by_self=False)
    await ann.command("volume_up")
    assert ann.volume == 1


async def test_a_stateless_channel_commands_through_a_handle_on_the_participant(
    services: Services,
) -> None:
    """REST keeps no session between requests: a handle made from the snapshot sends
    commands through the same code, and the conference still checks the role."""
    room = await a_room(services)
    channel = Channel(services)
    host = await channel.join(room, "Host", M)
    ann = await channel.join(room, "Ann")
    found = services.conferences.present(room, ann.id)
    assert found is not None
    handle: ps.ParticipantSession[None] = ps.ParticipantSession.existing(
        services.conferences, room, found
    )
    assert (handle.id, handle.name, handle.role, handle.entered) == (ann.id, "Ann", P, True)
    with pytest.raises(DomainError) as refused:
        await handle.command("lock")
    assert refused.value.code == "conference.moderator_only"
    await handle.command("toggle_mute")
    assert ann.muted, "the page's own session followed the command sent over REST"
    lead = services.conferences.present(room, host.id)
    assert lead is not None
    await ps.ParticipantSession.existing(services.conferences, room, lead).command("lock")
    assert services.conferences.snapshot(room)["locked"] is True
