"""The conference decisions of ``confero.domain.conference`` as people meet them."""

from __future__ import annotations

import pytest

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.conference import Conference
from confero.domain.errors import DomainError
from confero.domain.roles import Role

M, P = Role.MODERATOR, Role.PARTICIPANT


def make(capacity: int = 5, **kw: bool) -> Conference:
    return Conference("c", "r", capacity=capacity, **kw)


def join(conf: Conference, pid: str, role: Role = P, identity: str | None = None) -> list[str]:
    events = conf.apply(
        c.Join(
            participant_id=pid,
            display_name=pid.title(),
            role=role,
            channel="phone",
            identity=identity or pid,
        )
    )
    return [e.name for e in events]


def code_of(conf: Conference, cmd: c.Command) -> str:
    with pytest.raises(DomainError) as exc:
        conf.apply(cmd)
    return exc.value.code


def test_host_leaves_and_returns_with_the_role_while_others_stay() -> None:
    conf = make()
    join(conf, "host", M, identity="acct:1")
    join(conf, "ann")
    conf.apply(c.Leave(by="host"))
    assert set(conf.participants) == {"ann"} and not conf.ended
    # comes back through a participant path (e.g. a guest link): the role returns
    join(conf, "host2", P, identity="acct:1")
    assert conf.participants["host2"].role is M


def test_dropped_participant_rejoins_a_locked_room_without_knocking() -> None:
    conf = make()
    join(conf, "host", M)
    join(conf, "ann")
    conf.apply(c.Lock(by="host"))
    conf.apply(c.Leave(by="ann", reason="dropped"))
    assert join(conf, "ann-again", identity="ann") == ["participant_joined"]


def test_removed_participant_must_knock_and_gets_no_role_back() -> None:
    conf = make()
    join(conf, "host", M)
    join(conf, "mod2", M)
    conf.apply(c.Lock(by="host"))
    conf.apply(c.Kick(by="host", target="mod2"))
    assert join(conf, "mod2b", P, identity="mod2") == ["knocked"]


def test_mute_all_keeps_newcomers_muted_and_unmute_all_respects_self_mute() -> None:
    conf = make()
    join(conf, "host", M)
    join(conf, "ann")
    join(conf, "bob")
    conf.apply(c.ToggleMute(by="bob"))  # bob mutes himself first
    conf.apply(c.MuteAll(by="host"))
    assert not conf.participants["host"].muted
    join(conf, "cid")
    assert conf.participants["cid"].muted
    conf.apply(c.UnmuteAll(by="host"))
    assert not conf.participants["ann"].muted and not conf.participants["cid"].muted
    assert conf.participants["bob"].muted  # his own mute stays


def test_self_unmute_after_mute_all_depends_on_the_room_setting() -> None:
    allowed = make()
    join(allowed, "host", M)
    join(allowed, "ann")
    allowed.apply(c.MuteAll(by="host"))
    allowed.apply(c.ToggleMute(by="ann"))
    assert not allowed.participants["ann"].muted

    strict = make(allow_self_unmute=False)
    join(strict, "host", M)
    join(strict, "ann")
    strict.apply(c.MuteAll(by="host"))
    assert code_of(strict, c.ToggleMute(by="ann")) == "conference.unmute_not_allowed"
    assert strict.participants["ann"].muted


def test_kick_last_skips_moderators_and_the_issuer() -> None:
    conf = make()
    join(conf, "host", M)
    join(conf, "ann")
    join(conf, "bob")
    join(conf, "mod2", M)
    events = conf.apply(c.KickLast(by="host"))
    assert events[0].participant_id == "bob"  # type: ignore[attr-defined]
    conf.apply(c.KickLast(by="host"))
    assert code_of(conf, c.KickLast(by="host")) == "conference.nobody_to_remove"


def test_participant_pressing_a_moderator_code_is_told_and_nothing_changes() -> None:
    conf = make()
    join(conf, "host", M)
    join(conf, "ann")
    for cmd in (
        c.MuteAll(by="ann"),
        c.Lock(by="ann"),
        c.EndForAll(by="ann"),
        c.KickLast(by="ann"),
        c.Invite(by="ann", number="0612345678"),
    ):
        assert code_of(conf, cmd) == "conference.moderator_only"
    assert not conf.locked and not conf.all_muted and len(conf.participants) == 2


def test_unlock_admits_who_fits_and_tells_the_rest() -> None:
    conf = make(capacity=3)
    join(conf, "host", M)
    join(conf, "ann")
    conf.apply(c.Lock(by="host"))
    assert join(conf, "bob") == ["knocked"]
    assert join(conf, "cid") == ["knocked"]
    events = conf.apply(c.Unlock(by="host"))
    left = {e.lobby_id: e.reason for e in events if e.name == "lobby_left"}  # type: ignore[attr-defined]
    assert left == {"bob": "admitted", "cid": "full"}
    assert "bob" in conf.participants and not conf.lobby


def test_end_for_all_but_me_keeps_only_the_host() -> None:
    conf = make()
    join(conf, "host", M)
    join(conf, "ann")
    join(conf, "mod2", M)
    conf.apply(c.EndForAllButMe(by="host"))
    assert list(conf.participants) == ["host"] and not conf.ended


def test_last_one_out_ends_the_conference() -> None:
    conf = make()
    join(conf, "ann")
    events = conf.apply(c.Leave(by="ann"))
    assert [e.name for e in events] == ["participant_left", "conference_ended"]
    assert conf.ended and conf.end_reason == "empty"


def test_reset_asks_for_confirmation_first() -> None:
    conf = make()
    join(conf, "host", M)
    assert code_of(conf, c.Reset(by="host")) == "command.confirmation_required"
    assert not conf.ended
    names = [e.name for e in conf.apply(c.Reset(by="host", confirm=True))]
    assert names == ["conference_ended", "room_reset_requested"]


def test_full_room_refuses_and_the_menu_depends_on_the_role() -> None:
    conf = make(capacity=2)
    join(conf, "host", M)
    join(conf, "ann")
    assert (
        code_of(
            conf,
            c.Join(participant_id="x", display_name="X", role=P, channel="phone", identity="x"),
        )
        == "room.full"
    )
    host_menu = conf.apply(c.Menu(by="host"))[0].controls  # type: ignore[attr-defined]
    ann_menu = conf.apply(c.Menu(by="ann"))[0].controls  # type: ignore[attr-defined]
    assert {k for k, _, _ in ann_menu} == {"#", "*1", "*2", "*3", "*7", "*9"}
    assert {"*30", "*31", "*21", "*20", "*11", "*10", "*8"} <= {k for k, _, _ in host_menu}


def test_admit_next_lets_in_whoever_knocked_first_then_the_next() -> None:
    conf = make()
    join(conf, "host", M)
    conf.apply(c.Lock(by="host"))
    assert join(conf, "ann") == ["knocked"]
    assert join(conf, "bob") == ["knocked"]
    events = conf.apply(c.AdmitNext(by="host"))
    assert [e.name for e in events] == ["lobby_left", "participant_joined"]
    left = events[0]
    assert isinstance(left, ev.LobbyLeft)
    assert (left.lobby_id, left.reason, left.by) == ("ann", "admitted", "host")
    assert set(conf.participants) == {"host", "ann"} and list(conf.lobby) == ["bob"]
    conf.apply(c.AdmitNext(by="host"))
    assert set(conf.participants) == {"host", "ann", "bob"} and not conf.lobby


def test_admit_next_with_nobody_waiting_is_an_error_and_changes_nothing() -> None:
    conf = make()
    join(conf, "host", M)
    assert code_of(conf, c.AdmitNext(by="host")) == "conference.nobody_waiting"
    conf.apply(c.Lock(by="host"))
    assert code_of(conf, c.AdmitNext(by="host")) == "conference.nobody_waiting"
    assert set(conf.participants) == {"host"} and conf.locked


def test_admit_next_is_for_moderators_and_a_full_room_keeps_the_knocker_waiting() -> None:
    conf = make(capacity=2)
    join(conf, "host", M)
    join(conf, "ann")
    conf.apply(c.Lock(by="host"))
    join(conf, "bob")
    assert code_of(conf, c.AdmitNext(by="ann")) == "conference.moderator_only"
    assert code_of(conf, c.AdmitNext(by="host")) == "room.full"
    assert list(conf.lobby) == ["bob"] and set(conf.participants) == {"host", "ann"}
    # an API moderator outside the conference may admit too, as with ``admit``
    conf.apply(c.Leave(by="ann"))
    conf.apply(c.AdmitNext(by_role=M))
    assert set(conf.participants) == {"host", "bob"}
