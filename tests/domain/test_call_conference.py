"""A 1:1 call's conference (F-WB3): either side hanging up ends it for both."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.conference import Conference
from confero.domain.roles import Role

M = Role.MODERATOR


def call_conference() -> Conference:
    conf = Conference("conf-1", "room-1", capacity=2, ends_when_one_leaves=True)
    for pid in ("ann", "bob"):
        conf.apply(
            c.Join(
                participant_id=pid,
                display_name=pid.title(),
                role=M,
                channel="browser",
                identity=f"account:{pid}",
                account_id=pid,
            )
        )
    return conf


def ended(events: Sequence[ev.Event]) -> ev.ConferenceEnded:
    found = [e for e in events if isinstance(e, ev.ConferenceEnded)]
    assert len(found) == 1, events
    return found[0]


@pytest.mark.parametrize("reason", ["left", "dropped"])
def test_one_leaving_ends_the_call_for_both(reason: str) -> None:
    conf = call_conference()
    events = conf.apply(c.Leave(by="ann", reason=reason))
    assert [e.name for e in events] == ["participant_left", "conference_ended"]
    end = ended(events)
    assert end.reason == "call_ended"
    assert end.audience == frozenset({"bob"}), "the one still in is told"
    assert conf.ended and conf.end_reason == "call_ended" and not conf.participants


def test_a_kick_ends_the_call_too() -> None:
    conf = call_conference()
    events = conf.apply(c.Kick(by="ann", target="bob"))
    assert ended(events).reason == "call_ended"
    assert ended(events).by == "ann"


def test_end_for_all_but_me_ends_the_call() -> None:
    conf = call_conference()
    events = conf.apply(c.EndForAllButMe(by="ann"))
    assert ended(events).reason == "call_ended"
    assert conf.ended


def test_a_reload_that_replaces_ones_own_leg_is_no_hang_up() -> None:
    conf = call_conference()
    events = conf.apply(
        c.Join(
            participant_id="ann-2",
            display_name="Ann",
            role=M,
            channel="browser",
            identity="account:ann",
            account_id="ann",
        )
    )
    assert not any(isinstance(e, ev.ConferenceEnded) for e in events)
    assert not conf.ended
    assert set(conf.participants) == {"ann-2", "bob"}


def test_alone_in_the_call_leaving_ends_it_as_empty() -> None:
    conf = Conference("conf-1", "room-1", capacity=2, ends_when_one_leaves=True)
    conf.apply(
        c.Join(participant_id="ann", display_name="Ann", role=M, channel="browser", identity="a")
    )
    events = conf.apply(c.Leave(by="ann", reason="left"))
    assert ended(events).reason == "empty"


def test_an_ordinary_room_goes_on_when_one_leaves() -> None:
    conf = Conference("conf-1", "room-1", capacity=2)
    for pid in ("ann", "bob"):
        conf.apply(
            c.Join(participant_id=pid, display_name=pid, role=M, channel="browser", identity=pid)
        )
    events = conf.apply(c.Leave(by="ann", reason="left"))
    assert [e.name for e in events] == ["participant_left"]
    assert not conf.ended
