"""The live conference state machine, command by command (F-PH2, F-PH3, F-EN1..F-EN7).

Every command is driven through ``Conference.apply`` the way the actor drives it; every
refusal is checked for its stable error code and for leaving the state untouched.
"""

from __future__ import annotations

import copy
import gc
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, TypeVar

import pytest

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.conference import Conference
from confero.domain.controls import KEYPAD
from confero.domain.errors import DomainError
from confero.domain.participant import MAX_DISPLAY_NAME, VOLUME_MAX, VOLUME_MIN
from confero.domain.roles import Role

M, P = Role.MODERATOR, Role.PARTICIPANT
API_MOD = {"by": None, "by_role": M}
E = TypeVar("E", bound=ev.Event)


# --------------------------------------------------------------------- helpers
def make(capacity: int = 10, **kw: bool) -> Conference:
    return Conference("conf-1", "room-1", capacity=capacity, **kw)


def join(
    conf: Conference,
    pid: str,
    role: Role = P,
    *,
    identity: str | None = None,
    channel: str = "phone",
    name: str | None = None,
) -> list[ev.Event]:
    return conf.apply(
        c.Join(
            participant_id=pid,
            display_name=name if name is not None else pid.title(),
            role=role,
            channel=channel,
            identity=identity or f"id:{pid}",
        )
    )


def state(conf: Conference) -> dict[str, Any]:
    """Everything a refused command must leave alone (more than ``snapshot``)."""
    return copy.deepcopy(
        {
            "snapshot": conf.snapshot(),
            "participants": conf.participants,
            "lobby": conf.lobby,
            "remembered": conf._remembered,
            "started": conf.started,
        }
    )


def refused(conf: Conference, cmd: c.Command) -> str:
    """Apply ``cmd`` expecting a refusal; the state must not change. Returns the code."""
    before = state(conf)
    with pytest.raises(DomainError) as exc:
        conf.apply(cmd)
    assert state(conf) == before, f"{cmd!r} was refused but changed the state"
    return exc.value.code


def names(events: Sequence[ev.Event]) -> list[str]:
    return [e.name for e in events]


def only(events: Sequence[ev.Event], cls: type[E]) -> E:
    found = [e for e in events if isinstance(e, cls)]
    assert len(found) == 1, names(events)
    return found[0]


def of_type(events: Sequence[ev.Event], cls: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, cls)]


def room_with(*parts: tuple[str, Role], capacity: int = 10, **kw: bool) -> Conference:
    conf = make(capacity, **kw)
    for pid, role in parts:
        join(conf, pid, role)
    return conf


def basic() -> Conference:
    """host (moderator), then ann and bob (participants)."""
    return room_with(("host", M), ("ann", P), ("bob", P))


# --------------------------------------------------------------------- join / leave
def test_first_join_starts_the_conference() -> None:
    conf = make()
    events = join(conf, "host", M, channel="browser", name="  Host   Name ")
    assert names(events) == ["conference_started", "participant_joined"]
    assert events[0].audience == {"host"}
    joined = only(events, ev.ParticipantJoined)
    assert joined.count == 1 and not joined.rejoined
    assert joined.participant.display_name == "Host Name"
    assert joined.participant.role == "moderator"
    assert joined.participant.channel == "browser"
    assert joined.announce_to == frozenset()
    assert all(e.conference_id == "conf-1" and e.room_id == "room-1" for e in events)
    assert conf.started and not conf.ended


def test_second_join_is_told_to_everyone_and_announced_to_those_inside() -> None:
    conf = make()
    join(conf, "host", M)
    events = join(conf, "ann")
    assert names(events) == ["participant_joined"]
    joined = only(events, ev.ParticipantJoined)
    assert joined.audience == {"host", "ann"}
    assert joined.announce_to == {"host"}
    assert joined.count == 2
    assert joined.participant.role == "participant"


@pytest.mark.parametrize("bad", ["", "   ", "\t\n", "x" * (MAX_DISPLAY_NAME + 1)])
def test_join_with_an_invalid_name_is_refused(bad: str) -> None:
    conf = room_with(("host", M))
    cmd = c.Join(participant_id="x", display_name=bad, role=P, channel="phone", identity="x")
    assert refused(conf, cmd) == "participant.invalid_name"


def test_name_of_the_maximum_length_is_accepted() -> None:
    conf = make()
    join(conf, "host", M, name="x" * MAX_DISPLAY_NAME)
    assert conf.participants["host"].display_name == "x" * MAX_DISPLAY_NAME


def test_same_participant_id_twice_is_refused() -> None:
    conf = room_with(("host", M))
    cmd = c.Join(participant_id="host", display_name="H", role=M, channel="phone", identity="z")
    assert refused(conf, cmd) == "conference.duplicate_participant"


def test_leave_tells_everyone_including_the_leaver() -> None:
    conf = basic()
    events = conf.apply(c.Leave(by="ann"))
    left = only(events, ev.ParticipantLeft)
    assert left.participant_id == "ann" and left.reason == "left"
    assert left.audience == {"host", "ann", "bob"}
    assert left.count == 2
    assert set(conf.participants) == {"host", "bob"}
    assert not conf.ended


def test_leave_with_an_unknown_reason_is_refused() -> None:
    conf = basic()
    assert refused(conf, c.Leave(by="ann", reason="kicked")) == "command.invalid"


def test_leave_by_someone_not_inside_is_refused() -> None:
    conf = basic()
    assert refused(conf, c.Leave(by="nobody")) == "conference.not_a_participant"
    assert refused(conf, c.Leave(by=None)) == "conference.not_a_participant"


def test_role_comes_from_the_join_command() -> None:
    conf = room_with(("mod", M), ("par", P))
    assert conf.role_of("mod") is M
    assert conf.role_of("par") is P
    assert conf.role_of("ghost") is None


def test_mute_on_entry_mutes_every_newcomer() -> None:
    conf = make(mute_on_entry=True)
    join(conf, "host", M)
    join(conf, "ann")
    assert conf.participants["host"].muted and conf.participants["ann"].muted


# --------------------------------------------------------------------- capacity
def test_join_beyond_capacity_is_refused_with_room_full() -> None:
    conf = room_with(("host", M), ("ann", P), capacity=2)
    cmd = c.Join(participant_id="bob", display_name="Bob", role=P, channel="phone", identity="b")
    assert refused(conf, cmd) == "room.full"
    mod = c.Join(participant_id="m2", display_name="M2", role=M, channel="phone", identity="m2")
    assert refused(conf, mod) == "room.full"
    assert len(conf.participants) == 2


def test_a_place_freed_by_leaving_can_be_taken() -> None:
    conf = room_with(("host", M), ("ann", P), capacity=2)
    conf.apply(c.Leave(by="ann"))
    join(conf, "bob")
    assert set(conf.participants) == {"host", "bob"}


# --------------------------------------------------------------------- lock / lobby
def test_lock_and_unlock_are_told_to_everyone() -> None:
    conf = basic()
    locked = only(conf.apply(c.Lock(by="host")), ev.LockChanged)
    assert locked.locked and locked.by == "host"
    assert locked.audience == {"host", "ann", "bob"}
    assert conf.locked
    assert conf.apply(c.Lock(by="host")) == []  # already locked: nothing happens
    unlocked = only(conf.apply(c.Unlock(by="host")), ev.LockChanged)
    assert not unlocked.locked and not conf.locked
    assert conf.apply(c.Unlock(by="host")) == []


def test_newcomer_in_a_locked_room_knocks() -> None:
    conf = basic()
    join(conf, "mod2", M)
    conf.apply(c.Lock(by="host"))
    events = join(conf, "zed")
    knock = only(events, ev.Knocked)
    assert names(events) == ["knocked"]
    assert knock.lobby_id == "zed" and knock.display_name == "Zed" and knock.channel == "phone"
    # told to the moderators and the knocker, not to the other participants
    assert knock.audience == {"host", "mod2", "zed"}
    assert "zed" in conf.lobby and "zed" not in conf.participants
    assert conf.snapshot()["lobby"] == [{"id": "zed", "display_name": "Zed", "channel": "phone"}]


def test_moderator_bypasses_the_lock() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    events = join(conf, "mod2", M)
    assert names(events) == ["participant_joined"]
    assert "mod2" in conf.participants


def test_room_locked_from_the_start_makes_the_first_participant_knock() -> None:
    conf = make(locked=True)
    assert names(join(conf, "ann")) == ["knocked"]
    assert not conf.started and conf.lobby
    assert names(join(conf, "host", M)) == ["conference_started", "participant_joined"]


def test_admit_lets_the_knocker_in() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    events = conf.apply(c.Admit(by="host", target="zed"))
    assert names(events) == ["lobby_left", "participant_joined"]
    lobby_left = only(events, ev.LobbyLeft)
    assert lobby_left.reason == "admitted" and lobby_left.by == "host"
    assert "zed" in lobby_left.audience
    joined = only(events, ev.ParticipantJoined)
    assert joined.participant.id == "zed" and joined.audience == {"host", "ann", "bob", "zed"}
    assert "zed" in conf.participants and not conf.lobby


def test_deny_sends_the_knocker_away() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    events = conf.apply(c.Deny(by="host", target="zed"))
    denied = only(events, ev.LobbyLeft)
    assert denied.reason == "denied" and denied.audience == {"host", "zed"}
    assert not conf.lobby and "zed" not in conf.participants


def test_admit_or_deny_of_nobody_waiting_is_refused() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    assert refused(conf, c.Admit(by="host", target="ghost")) == "conference.unknown_knocker"
    assert refused(conf, c.Deny(by="host", target="ann")) == "conference.unknown_knocker"


def test_participant_cannot_admit() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    assert refused(conf, c.Admit(by="ann", target="zed")) == "conference.moderator_only"


def test_admit_into_a_full_room_is_refused_and_the_knocker_keeps_waiting() -> None:
    conf = room_with(("host", M), ("ann", P), capacity=2)
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    assert refused(conf, c.Admit(by="host", target="zed")) == "room.full"
    assert "zed" in conf.lobby


def test_knocker_who_gives_up_leaves_the_lobby() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    events = conf.apply(c.Leave(by="zed"))
    gone = only(events, ev.LobbyLeft)
    assert gone.reason == "left" and gone.audience == {"host", "zed"}
    assert not conf.lobby and not conf.ended


def test_unlock_admits_the_waiting_who_fit_and_tells_the_rest_full() -> None:
    conf = room_with(("host", M), capacity=3)
    conf.apply(c.Lock(by="host"))
    for pid in ("amy", "ben", "cat"):
        join(conf, pid)
    events = conf.apply(c.Unlock(by="host"))
    lock = events[0]
    assert isinstance(lock, ev.LockChanged) and not lock.locked
    assert lock.audience == {"host", "amy", "ben", "cat"}  # the lobby hears it too
    admitted = [e.lobby_id for e in of_type(events, ev.LobbyLeft) if e.reason == "admitted"]
    full = [e for e in of_type(events, ev.LobbyLeft) if e.reason == "full"]
    assert admitted == ["amy", "ben"]  # in knock order
    assert [e.lobby_id for e in full] == ["cat"] and full[0].audience >= {"cat"}
    # The refused knocker's page shows the registry's text for this code.
    assert full[0].code == "room.full"
    assert {e.code for e in of_type(events, ev.LobbyLeft) if e.reason == "admitted"} == {None}
    assert set(conf.participants) == {"host", "amy", "ben"}
    assert not conf.lobby and not conf.locked


def test_knocker_who_rejoins_with_the_admin_pin_while_full_changes_nothing() -> None:
    """A refused join must not throw the old lobby entry away silently."""
    conf = room_with(("host", M), ("ann", P), capacity=2)
    conf.apply(c.Lock(by="host"))
    join(conf, "zed", identity="caller:zed")
    again = c.Join(
        participant_id="zed-2", display_name="Zed", role=M, channel="phone", identity="caller:zed"
    )
    assert refused(conf, again) == "room.full"
    assert "zed" in conf.lobby


def test_knocking_again_with_the_same_identity_replaces_the_lobby_entry() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    join(conf, "zed", identity="caller:zed")
    events = join(conf, "zed-2", identity="caller:zed")
    assert names(events) == ["lobby_left", "knocked"]
    assert only(events, ev.LobbyLeft).lobby_id == "zed"
    assert list(conf.lobby) == ["zed-2"]


# --------------------------------------------------------------------- mute
def test_toggle_mute_mutes_and_unmutes_oneself() -> None:
    conf = basic()
    muted = only(conf.apply(c.ToggleMute(by="ann")), ev.MuteChanged)
    assert muted.muted and muted.participant_id == "ann" and muted.by == "ann"
    assert muted.audience == {"host", "ann", "bob"}
    assert conf.participants["ann"].muted
    unmuted = only(conf.apply(c.ToggleMute(by="ann")), ev.MuteChanged)
    assert not unmuted.muted and not conf.participants["ann"].muted


def test_self_unmute_after_a_moderator_mute_is_allowed_by_default() -> None:
    conf = basic()
    conf.apply(c.Mute(by="host", target="ann"))
    assert conf.participants["ann"].muted
    conf.apply(c.ToggleMute(by="ann"))
    assert not conf.participants["ann"].muted


def test_self_unmute_after_a_moderator_mute_is_refused_when_not_allowed() -> None:
    conf = room_with(("host", M), ("ann", P), allow_self_unmute=False)
    conf.apply(c.Mute(by="host", target="ann"))
    assert refused(conf, c.ToggleMute(by="ann")) == "conference.unmute_not_allowed"
    assert refused(conf, c.Unmute(by="ann")) == "conference.unmute_not_allowed"
    assert refused(conf, c.Unmute(by="ann", target="ann")) == "conference.unmute_not_allowed"
    # the moderator still can
    event = only(conf.apply(c.Unmute(by="host", target="ann")), ev.MuteChanged)
    assert not event.muted and event.by == "host"
    assert not conf.participants["ann"].muted


def test_own_mute_can_always_be_lifted_by_oneself() -> None:
    conf = room_with(("host", M), ("ann", P), allow_self_unmute=False)
    conf.apply(c.Mute(by="ann"))
    conf.apply(c.Unmute(by="ann"))
    assert not conf.participants["ann"].muted


def test_moderator_muted_by_another_moderator_may_unmute_themselves() -> None:
    conf = room_with(("host", M), ("mod2", M), allow_self_unmute=False)
    conf.apply(c.Mute(by="host", target="mod2"))
    conf.apply(c.ToggleMute(by="mod2"))
    assert not conf.participants["mod2"].muted


def test_muting_someone_already_muted_changes_nothing() -> None:
    conf = basic()
    conf.apply(c.Mute(by="ann"))
    assert conf.apply(c.Mute(by="ann")) == []
    assert conf.apply(c.Unmute(by="bob")) == []


def test_mute_all_mutes_participants_but_not_moderators() -> None:
    conf = room_with(("host", M), ("ann", P), ("mod2", M), ("bob", P))
    events = conf.apply(c.MuteAll(by="host"))
    muted = {e.participant_id for e in of_type(events, ev.MuteChanged) if e.muted}
    assert muted == {"ann", "bob"}
    assert isinstance(events[-1], ev.AllMuteChanged) and events[-1].muted
    assert conf.all_muted
    assert not conf.participants["host"].muted and not conf.participants["mod2"].muted


def test_mute_all_tells_each_muted_one_and_everyone_once() -> None:
    """A room of 1,000: one mute each to its participant and one event to all, not a
    mute_changed per participant to every participant (a million messages)."""
    conf = room_with(("host", M), ("ann", P), ("mod2", M), ("bob", P))
    for command in (c.MuteAll(by="host"), c.UnmuteAll(by="host")):
        events = conf.apply(command)
        for mute in of_type(events, ev.MuteChanged):
            assert mute.audience == {mute.participant_id}
        every = only(events, ev.AllMuteChanged)
        assert every.audience == {"host", "ann", "mod2", "bob"}
        assert sorted(every.participant_ids) == ["ann", "bob"]


def test_mute_all_also_mutes_newcomers_until_unmute_all() -> None:
    conf = basic()
    conf.apply(c.MuteAll(by="host"))
    joined = only(join(conf, "cid"), ev.ParticipantJoined)
    assert joined.participant.muted and conf.participants["cid"].muted
    join(conf, "mod2", M)
    assert not conf.participants["mod2"].muted  # moderators are never muted by *11
    events = conf.apply(c.UnmuteAll(by="host"))
    unmuted = {e.participant_id for e in of_type(events, ev.MuteChanged) if not e.muted}
    assert unmuted == {"ann", "bob", "cid"}
    assert not conf.all_muted
    assert only(events, ev.AllMuteChanged).muted is False
    join(conf, "dan")
    assert not conf.participants["dan"].muted


def test_unmute_all_does_not_unmute_a_self_muted_participant() -> None:
    conf = basic()
    conf.apply(c.ToggleMute(by="bob"))
    conf.apply(c.MuteAll(by="host"))
    events = conf.apply(c.UnmuteAll(by="host"))
    assert "bob" not in {e.participant_id for e in of_type(events, ev.MuteChanged)}
    assert conf.participants["bob"].muted
    assert not conf.participants["ann"].muted


def test_muted_participant_after_mute_all_cannot_self_unmute_when_not_allowed() -> None:
    conf = room_with(("host", M), ("ann", P), allow_self_unmute=False)
    conf.apply(c.MuteAll(by="host"))
    assert refused(conf, c.ToggleMute(by="ann")) == "conference.unmute_not_allowed"
    join(conf, "bob")
    assert refused(conf, c.ToggleMute(by="bob")) == "conference.unmute_not_allowed"


@pytest.mark.parametrize(
    "cmd",
    [
        c.Mute(by="ann", target="bob"),
        c.Unmute(by="ann", target="bob"),
        c.LowerHand(by="ann", target="bob"),
    ],
)
def test_acting_on_another_participant_needs_the_moderator(cmd: c.Command) -> None:
    conf = basic()
    conf.apply(c.RaiseHand(by="bob"))
    if isinstance(cmd, c.Unmute):
        conf.apply(c.Mute(by="host", target="bob"))
    assert refused(conf, cmd) == "conference.moderator_only"


def test_moderator_mutes_and_unmutes_someone_else() -> None:
    conf = basic()
    muted = only(conf.apply(c.Mute(by="host", target="bob")), ev.MuteChanged)
    assert muted.muted and muted.by == "host" and muted.participant_id == "bob"
    assert conf.participants["bob"].muted
    conf.apply(c.Unmute(by="host", target="bob"))
    assert not conf.participants["bob"].muted


def test_moderator_acting_on_an_unknown_participant_is_refused() -> None:
    conf = basic()
    assert refused(conf, c.Mute(by="host", target="ghost")) == "conference.unknown_participant"
    assert refused(conf, c.LowerHand(by="host", target="ghost")) == (
        "conference.unknown_participant"
    )


# --------------------------------------------------------------------- announcements, lists
def test_toggle_announcements_changes_who_hears_newcomers() -> None:
    conf = basic()
    event = only(conf.apply(c.ToggleAnnouncements(by="ann")), ev.AnnouncementsChanged)
    assert not event.enabled and event.audience == {"ann"}
    joined = only(join(conf, "cid"), ev.ParticipantJoined)
    assert joined.announce_to == {"host", "bob"}
    assert "ann" in joined.audience  # she still sees the list change, silently
    back = only(conf.apply(c.ToggleAnnouncements(by="ann")), ev.AnnouncementsChanged)
    assert back.enabled
    assert only(join(conf, "dan"), ev.ParticipantJoined).announce_to == {
        "host",
        "ann",
        "bob",
        "cid",
    }


def test_list_participants_answers_only_the_asker_in_join_order() -> None:
    conf = basic()
    listed = only(conf.apply(c.ListParticipants(by="bob")), ev.ParticipantsListed)
    assert listed.audience == {"bob"}
    assert [p.id for p in listed.participants] == ["host", "ann", "bob"]
    assert [p.role for p in listed.participants] == ["moderator", "participant", "participant"]


def test_menu_lists_moderator_controls_only_to_moderators() -> None:
    conf = basic()
    mine = only(conf.apply(c.Menu(by="ann")), ev.MenuListed)
    assert mine.audience == {"ann"}
    assert [row[0] for row in mine.controls] == ["#", "*1", "*2", "*3", "*7", "*9"]
    host = only(conf.apply(c.Menu(by="host")), ev.MenuListed)
    assert host.audience == {"host"}
    assert [row[0] for row in host.controls] == [ctl.keys for ctl in KEYPAD]
    assert ("*30", "end_for_all", "end the conference for everyone") in host.controls


# --------------------------------------------------------------------- volume, hands
def test_volume_is_bounded_and_reports_the_limit() -> None:
    conf = basic()
    levels = []
    for _ in range(VOLUME_MAX + 1):
        event = only(conf.apply(c.VolumeUp(by="ann")), ev.VolumeChanged)
        assert event.audience == {"ann"}
        levels.append((event.level, event.at_limit))
    assert levels == [(1, False), (2, False), (3, False), (4, False), (4, True)]
    downs = [
        only(conf.apply(c.VolumeDown(by="ann")), ev.VolumeChanged)
        for _ in range(VOLUME_MAX - VOLUME_MIN + 1)
    ]
    assert [e.level for e in downs] == [3, 2, 1, 0, -1, -2, -3, -4, -4]
    assert [e.at_limit for e in downs] == [False] * 8 + [True]
    assert conf.participants["ann"].volume == VOLUME_MIN
    assert conf.participants["bob"].volume == 0


def test_raise_and_lower_hand() -> None:
    conf = basic()
    raised = only(conf.apply(c.RaiseHand(by="ann")), ev.HandChanged)
    assert raised.raised and raised.audience == {"host", "ann", "bob"}
    assert conf.participants["ann"].hand_raised
    assert conf.apply(c.RaiseHand(by="ann")) == []
    lowered = only(conf.apply(c.LowerHand(by="ann")), ev.HandChanged)
    assert not lowered.raised and not conf.participants["ann"].hand_raised
    assert conf.apply(c.LowerHand(by="ann")) == []


def test_moderator_lowers_someone_elses_hand() -> None:
    conf = basic()
    conf.apply(c.RaiseHand(by="bob"))
    event = only(conf.apply(c.LowerHand(by="host", target="bob")), ev.HandChanged)
    assert event.by == "host" and not conf.participants["bob"].hand_raised


# --------------------------------------------------------------------- invite
@pytest.mark.parametrize("number", ["12", "223500908", "+48223500908", "1" * 20])
def test_moderator_invites_a_valid_number(number: str) -> None:
    conf = basic()
    event = only(conf.apply(c.Invite(by="host", number=number)), ev.InviteRequested)
    assert event.number == number and event.audience == {"host"} and event.by == "host"


@pytest.mark.parametrize(
    "number", ["", "1", "+", "+1", "12ab", "1" * 21, "12 34", "++12", "123\n", "١٢٣٤"]
)
def test_invite_of_an_invalid_number_is_refused(number: str) -> None:
    conf = basic()
    assert refused(conf, c.Invite(by="host", number=number)) == "invite.invalid_number"


def test_participant_cannot_invite() -> None:
    conf = basic()
    assert refused(conf, c.Invite(by="ann", number="123456")) == "conference.moderator_only"


def test_api_invite_is_told_to_nobody_inside() -> None:
    conf = basic()
    event = only(conf.apply(c.Invite(number="123456", **API_MOD)), ev.InviteRequested)
    assert event.audience == frozenset() and event.by is None


# --------------------------------------------------------------------- removing people
def test_kick_last_removes_the_last_joined_non_moderator() -> None:
    conf = room_with(("host", M), ("ann", P), ("bob", P), ("mod2", M))
    events = conf.apply(c.KickLast(by="host"))
    left = only(events, ev.ParticipantLeft)
    assert left.participant_id == "bob" and left.reason == "kicked" and left.by == "host"
    assert left.audience == {"host", "ann", "bob", "mod2"}
    assert set(conf.participants) == {"host", "ann", "mod2"}
    conf.apply(c.KickLast(by="mod2"))
    assert set(conf.participants) == {"host", "mod2"}
    assert refused(conf, c.KickLast(by="host")) == "conference.nobody_to_remove"


def test_kick_last_counts_a_rejoin_as_the_latest_join() -> None:
    conf = room_with(("host", M), ("ann", P), ("bob", P))
    conf.apply(c.Leave(by="ann", reason="dropped"))
    join(conf, "ann-2", identity="id:ann")
    left = only(conf.apply(c.KickLast(by="host")), ev.ParticipantLeft)
    assert left.participant_id == "ann-2"


def test_kick_last_never_removes_the_issuer() -> None:
    conf = room_with(("host", M))
    assert refused(conf, c.KickLast(by="host")) == "conference.nobody_to_remove"


def test_kick_removes_the_target() -> None:
    conf = basic()
    left = only(conf.apply(c.Kick(by="host", target="ann")), ev.ParticipantLeft)
    assert left.participant_id == "ann" and left.reason == "kicked" and left.by == "host"
    assert "ann" in left.audience
    assert set(conf.participants) == {"host", "bob"}


def test_kick_refusals() -> None:
    conf = basic()
    assert refused(conf, c.Kick(by="host", target="host")) == "conference.cannot_kick_self"
    assert refused(conf, c.Kick(by="host", target="ghost")) == "conference.unknown_participant"
    assert refused(conf, c.Kick(by="ann", target="bob")) == "conference.moderator_only"


def test_end_for_all_ends_for_every_participant_and_knocker() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    events = conf.apply(c.EndForAll(by="host"))
    ended = only(events, ev.ConferenceEnded)
    assert names(events) == ["conference_ended"]
    assert ended.reason == "ended_by_host" and ended.by == "host"
    assert ended.audience == {"host", "ann", "bob", "zed"}
    assert conf.ended and conf.end_reason == "ended_by_host"
    assert not conf.participants and not conf.lobby
    snap = conf.snapshot()
    assert snap["ended"] and snap["participants"] == [] and snap["lobby"] == []


def test_end_for_all_but_me_keeps_the_host() -> None:
    conf = room_with(("host", M), ("ann", P), ("mod2", M), ("bob", P))
    events = conf.apply(c.EndForAllButMe(by="host"))
    left = of_type(events, ev.ParticipantLeft)
    assert [e.participant_id for e in left] == ["ann", "mod2", "bob"]
    assert all(e.reason == "removed_by_host" and e.by == "host" for e in left)
    # each removal is told to the removed one and to those still inside, not to earlier ones
    assert left[1].audience == {"host", "mod2", "bob"}
    assert set(conf.participants) == {"host"}
    assert not conf.ended


def test_end_for_all_but_me_needs_a_participant_issuer() -> None:
    conf = basic()
    assert refused(conf, c.EndForAllButMe(**API_MOD)) == "conference.not_a_participant"
    assert refused(conf, c.EndForAllButMe(by="ann")) == "conference.moderator_only"


def test_reset_needs_confirmation() -> None:
    conf = basic()
    assert refused(conf, c.Reset(by="host")) == "command.confirmation_required"
    assert not conf.ended


def test_confirmed_reset_ends_the_conference_and_requests_a_room_reset() -> None:
    conf = basic()
    events = conf.apply(c.Reset(by="host", confirm=True))
    assert names(events) == ["conference_ended", "room_reset_requested"]
    ended = only(events, ev.ConferenceEnded)
    assert ended.reason == "reset" and ended.audience == {"host", "ann", "bob"}
    assert only(events, ev.RoomResetRequested).by == "host"
    assert conf.ended and not conf.participants


def test_close_window_ends_the_conference() -> None:
    conf = basic()
    ended = only(conf.apply(c.CloseWindow(**API_MOD)), ev.ConferenceEnded)
    assert ended.reason == "window_closed" and ended.audience == {"host", "ann", "bob"}
    assert conf.ended


# --------------------------------------------------------------------- ending by emptiness
def test_last_participant_leaving_ends_the_conference() -> None:
    conf = room_with(("host", M), ("ann", P))
    conf.apply(c.Leave(by="ann"))
    events = conf.apply(c.Leave(by="host"))
    assert names(events) == ["participant_left", "conference_ended"]
    ended = only(events, ev.ConferenceEnded)
    assert ended.reason == "empty" and conf.end_reason == "empty"
    # the leaver heard its own ParticipantLeft; nothing more goes to someone who is gone
    assert only(events, ev.ParticipantLeft).audience == {"host"}
    assert ended.audience == frozenset()
    assert conf.ended


def test_last_participant_kicked_by_api_ends_the_conference() -> None:
    conf = room_with(("ann", P))
    events = conf.apply(c.KickLast(**API_MOD))
    assert names(events) == ["participant_left", "conference_ended"]
    assert conf.ended


def test_last_one_leaving_tells_the_waiting_the_conference_is_over() -> None:
    conf = room_with(("host", M))
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    ended = only(conf.apply(c.Leave(by="host")), ev.ConferenceEnded)
    assert ended.audience == {"zed"}
    assert conf.ended and not conf.lobby


def test_denying_the_only_knocker_of_an_empty_room_ends_the_conference() -> None:
    conf = make(locked=True)
    join(conf, "zed")
    events = conf.apply(c.Deny(target="zed", **API_MOD))
    assert names(events) == ["lobby_left", "conference_ended"]
    assert conf.ended


def test_close_if_idle() -> None:
    conf = make()
    assert conf.close_if_idle() and conf.ended and conf.end_reason == "empty"
    assert not conf.close_if_idle()  # already ended
    busy = room_with(("host", M))
    assert not busy.close_if_idle() and not busy.ended
    waiting = make(locked=True)
    join(waiting, "zed")
    assert not waiting.close_if_idle()


# --------------------------------------------------------------------- rejoin (F-EN6, F-EN7)
def test_host_leaves_and_returns_while_others_stay() -> None:
    conf = basic()
    conf.apply(c.Leave(by="host"))
    assert not conf.ended and set(conf.participants) == {"ann", "bob"}
    joined = only(join(conf, "host-2", P, identity="id:host"), ev.ParticipantJoined)
    assert joined.rejoined
    assert conf.participants["host-2"].role is M
    conf.apply(c.Lock(by="host-2"))  # and can moderate again


def test_dropped_moderator_gets_the_role_back_and_skips_the_lobby() -> None:
    conf = basic()
    join(conf, "mod2", M)
    conf.apply(c.Lock(by="host"))
    conf.apply(c.Leave(by="mod2", reason="dropped"))
    events = join(conf, "mod2-b", P, identity="id:mod2")
    assert names(events) == ["participant_joined"]
    assert conf.participants["mod2-b"].role is M


def test_dropped_participant_skips_the_lobby_of_a_locked_room() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    conf.apply(c.Leave(by="ann", reason="dropped"))
    joined = only(join(conf, "ann-b", identity="id:ann"), ev.ParticipantJoined)
    assert joined.rejoined and conf.participants["ann-b"].role is P
    # a newcomer still knocks
    assert names(join(conf, "zed")) == ["knocked"]


def test_kicked_participant_neither_skips_the_lobby_nor_keeps_the_role() -> None:
    conf = basic()
    join(conf, "mod2", M)
    conf.apply(c.Kick(by="host", target="mod2"))
    conf.apply(c.Lock(by="host"))
    assert names(join(conf, "mod2-b", P, identity="id:mod2")) == ["knocked"]
    conf.apply(c.Admit(by="host", target="mod2-b"))
    assert conf.participants["mod2-b"].role is P


def test_removed_by_host_must_knock_again() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    conf.apply(c.EndForAllButMe(by="host"))
    assert names(join(conf, "ann-b", identity="id:ann")) == ["knocked"]


def test_after_end_for_all_a_locked_room_makes_everyone_knock() -> None:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    conf.apply(c.EndForAll(by="host"))
    # the room stays locked; the next join starts a new conference in it
    nxt = Conference("conf-2", "room-1", capacity=10, locked=conf.locked)
    assert names(join(nxt, "ann-b", identity="id:ann")) == ["knocked"]
    assert names(join(nxt, "bob-b", identity="id:bob")) == ["knocked"]
    assert "ann-b" not in nxt.participants
    # the moderator (admin PIN) still does not knock
    assert "participant_joined" in names(join(nxt, "host-b", M, identity="id:host"))


def test_a_returning_join_enters_a_locked_room_that_never_saw_it() -> None:
    """Issue 16: the owner node died, the room's conference formed again elsewhere with
    the stored lock; one whose let-in the server checked comes in without knocking (and
    with no more than the role it asks), a newcomer still knocks, and a full room stays
    full."""
    conf = Conference("conf-2", "room-1", capacity=2, locked=True)
    back = conf.apply(
        c.Join(
            participant_id="gus",
            display_name="Gus",
            role=P,
            channel="browser",
            identity="browser:gus",
            returning=True,
        )
    )
    joined = only(back, ev.ParticipantJoined)
    assert joined.rejoined and conf.participants["gus"].role is P
    assert not conf.lobby
    assert names(join(conf, "zed")) == ["knocked"], "a newcomer knocks"
    returning = c.Join(
        participant_id="amy", display_name="Amy", role=P, channel="phone", identity="phone:a"
    )
    join(conf, "host", M)
    assert refused(conf, replace(returning, returning=True)) == "room.full"


def test_same_identity_joining_again_replaces_the_old_leg() -> None:
    conf = basic()
    join(conf, "mod2", M, identity="acct:7")
    events = join(conf, "mod2-tab2", P, identity="acct:7", channel="browser")
    assert names(events) == ["participant_left", "participant_joined"]
    old = only(events, ev.ParticipantLeft)
    assert old.participant_id == "mod2" and old.reason == "replaced"
    assert "mod2" in old.audience
    new = only(events, ev.ParticipantJoined)
    assert new.rejoined and "mod2" not in new.audience
    assert "mod2" not in conf.participants
    assert conf.participants["mod2-tab2"].role is M
    assert len(conf.participants) == 4


def test_replacing_the_only_leg_does_not_end_the_conference() -> None:
    conf = room_with(("host", M))
    events = join(conf, "host-2", identity="id:host")
    assert "conference_ended" not in names(events)
    assert not conf.ended and set(conf.participants) == {"host-2"}


def test_replacing_a_leg_in_a_full_room_works() -> None:
    conf = room_with(("host", M), ("ann", P), capacity=2)
    join(conf, "ann-2", identity="id:ann")
    assert set(conf.participants) == {"host", "ann-2"}


# --------------------------------------------------------------------- authorization
ALL_COMMANDS: list[c.Command] = [
    c.Join(participant_id="new", display_name="New", role=P, channel="phone", identity="new"),
    c.Leave(by="ann"),
    c.ToggleMute(by="ann"),
    c.Mute(by="ann"),
    c.Unmute(by="ann"),
    c.ToggleAnnouncements(by="ann"),
    c.ListParticipants(by="ann"),
    c.Menu(by="ann"),
    c.VolumeDown(by="ann"),
    c.VolumeUp(by="ann"),
    c.RaiseHand(by="ann"),
    c.LowerHand(by="ann"),
    c.Invite(by="host", number="12345"),
    c.EndForAll(by="host"),
    c.EndForAllButMe(by="host"),
    c.KickLast(by="host"),
    c.Kick(by="host", target="ann"),
    c.Lock(by="host"),
    c.Unlock(by="host"),
    c.MuteAll(by="host"),
    c.UnmuteAll(by="host"),
    c.Admit(by="host", target="zed"),
    c.Deny(by="host", target="zed"),
    c.AdmitNext(by="host"),
    c.Reset(by="host", confirm=True),
    c.RecordStart(by="host"),
    c.RecordStop(by="host"),
    c.CloseWindow(**API_MOD),
]


def test_every_command_is_covered() -> None:
    assert {cmd.name for cmd in ALL_COMMANDS} == set(c.COMMANDS)


@pytest.mark.parametrize("cmd", ALL_COMMANDS, ids=lambda cmd: cmd.name)
def test_after_the_end_every_command_is_refused(cmd: c.Command) -> None:
    conf = basic()
    conf.apply(c.EndForAll(by="host"))
    assert refused(conf, cmd) == "conference.ended"


MODERATOR_COMMANDS = [cmd for cmd in ALL_COMMANDS if cmd.required_role is M]


def test_moderator_commands_are_the_expected_ones() -> None:
    assert {cmd.name for cmd in MODERATOR_COMMANDS} == {
        "invite",
        "end_for_all",
        "end_for_all_but_me",
        "kick_last",
        "kick",
        "lock",
        "unlock",
        "mute_all",
        "unmute_all",
        "admit",
        "deny",
        "admit_next",
        "reset",
        "record_start",
        "record_stop",
        "close_window",
    }


def _locked_with_knocker() -> Conference:
    conf = basic()
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    return conf


@pytest.mark.parametrize("cmd", MODERATOR_COMMANDS, ids=lambda cmd: cmd.name)
def test_participant_issuing_a_moderator_command_is_refused(cmd: c.Command) -> None:
    conf = _locked_with_knocker()
    assert refused(conf, replace(cmd, by="bob", by_role=None)) == "conference.moderator_only"


@pytest.mark.parametrize("cmd", MODERATOR_COMMANDS, ids=lambda cmd: cmd.name)
def test_api_participant_role_cannot_run_moderator_commands(cmd: c.Command) -> None:
    conf = _locked_with_knocker()
    assert refused(conf, replace(cmd, by=None, by_role=P)) == "conference.moderator_only"


@pytest.mark.parametrize(
    "cmd",
    [cmd for cmd in MODERATOR_COMMANDS if cmd.name != "end_for_all_but_me"],
    ids=lambda cmd: cmd.name,
)
def test_api_moderator_can_run_moderator_commands(cmd: c.Command) -> None:
    conf = _locked_with_knocker()
    if isinstance(cmd, c.Lock):
        conf.apply(c.Unlock(**API_MOD))
    if isinstance(cmd, c.RecordStop):
        conf.apply(c.RecordStart(**API_MOD))
    events = conf.apply(replace(cmd, by=None, by_role=M))
    assert events, cmd.name
    assert all(e.by is None for e in events if hasattr(e, "by"))


def test_api_moderator_mutes_a_participant_who_then_cannot_self_unmute() -> None:
    conf = room_with(("host", M), ("ann", P), allow_self_unmute=False)
    event = only(conf.apply(c.Mute(target="ann", **API_MOD)), ev.MuteChanged)
    assert event.by is None and conf.participants["ann"].muted
    assert refused(conf, c.ToggleMute(by="ann")) == "conference.unmute_not_allowed"
    conf.apply(c.Unmute(target="ann", **API_MOD))
    assert not conf.participants["ann"].muted


def test_api_caller_without_a_role_is_forbidden() -> None:
    conf = basic()
    assert refused(conf, c.Lock()) == "auth.forbidden"
    assert refused(conf, c.ListParticipants()) == "auth.forbidden"


def test_self_commands_need_a_participant_issuer() -> None:
    conf = basic()
    assert refused(conf, c.ToggleMute(**API_MOD)) == "conference.not_a_participant"
    assert refused(conf, c.Menu(**API_MOD)) == "conference.not_a_participant"


def test_issuer_id_outranks_the_claimed_role() -> None:
    """A participant id with a forged moderator role is still a participant."""
    conf = basic()
    assert refused(conf, c.Lock(by="ann", by_role=M)) == "conference.moderator_only"


def test_someone_who_left_or_waits_in_the_lobby_cannot_issue_commands() -> None:
    conf = basic()
    conf.apply(c.Leave(by="bob"))
    assert refused(conf, c.ToggleMute(by="bob")) == "conference.not_a_participant"
    assert refused(conf, c.Lock(by="bob")) == "conference.not_a_participant"
    conf.apply(c.Lock(by="host"))
    join(conf, "zed")
    assert refused(conf, c.Admit(by="zed", target="zed")) == "conference.not_a_participant"
    assert refused(conf, c.RaiseHand(by="zed")) == "conference.not_a_participant"


@dataclass(frozen=True)
class Dance(c.Command):
    name: ClassVar[str] = "dance"


def test_unknown_command_is_refused() -> None:
    conf = basic()
    assert refused(conf, Dance(by="host")) == "command.unknown"


# --------------------------------------------------------------------- events on the wire
def test_events_serialise_to_plain_data() -> None:
    conf = make()
    events = join(conf, "host", M)
    data = events[-1].to_dict()
    assert data["event"] == "participant_joined"
    assert "audience" not in data
    assert data["participant"]["id"] == "host" and data["participant"]["role"] == "moderator"
    assert data["announce_to"] == []


def test_an_ended_conference_is_freed_without_the_cycle_collector() -> None:
    """A server's heap keeper (confero/heap.py) leaves frozen cycles alone: a
    conference must not be one (its command table belongs to the class)."""
    conf = make()
    join(conf, "ann", M)
    conf.apply(c.Leave(by="ann"))
    gone = weakref.ref(conf)
    gc.disable()
    try:
        del conf
        assert gone() is None
    finally:
        gc.enable()
