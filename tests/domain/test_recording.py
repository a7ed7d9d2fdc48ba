"""Recording as the conference's state (issue 12, F-RC1): moderators start and stop it,
everyone in the conference is told, and it stops when the conference ends."""

from __future__ import annotations

import pytest

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.conference import Conference
from confero.domain.controls import BY_KEYS, CONTROLS, controls_for
from confero.domain.errors import DomainError
from confero.domain.offline import apply_offline
from confero.domain.roles import Role

M, P = Role.MODERATOR, Role.PARTICIPANT


def make() -> Conference:
    conf = Conference("conf-1", "room-1", capacity=10)
    for pid, role in (("mod", M), ("ann", P), ("bob", P)):
        conf.apply(
            c.Join(
                participant_id=pid,
                display_name=pid.title(),
                role=role,
                channel="phone",
                identity=f"id:{pid}",
            )
        )
    return conf


def changed(events: list[ev.Event]) -> list[ev.RecordingChanged]:
    return [e for e in events if isinstance(e, ev.RecordingChanged)]


def test_moderator_starts_and_everyone_in_the_conference_is_told() -> None:
    conf = make()
    events = conf.apply(c.RecordStart(by="mod"))
    assert [(e.recording, e.by, e.audience) for e in changed(events)] == [
        (True, "mod", frozenset({"mod", "ann", "bob"}))
    ]
    assert conf.recording and conf.frozen().recording
    assert conf.snapshot()["recording"] is True


def test_moderator_stops_it() -> None:
    conf = make()
    conf.apply(c.RecordStart(by="mod"))
    events = conf.apply(c.RecordStop(by="mod"))
    assert [(e.recording, e.audience) for e in changed(events)] == [
        (False, frozenset({"mod", "ann", "bob"}))
    ]
    assert not conf.frozen().recording


def test_api_moderator_without_a_seat_may_record() -> None:
    conf = make()
    events = conf.apply(c.RecordStart(by_role=M))
    assert changed(events)[0].by is None


@pytest.mark.parametrize("command", [c.RecordStart, c.RecordStop])
def test_a_participant_may_not(command: type[c.Command]) -> None:
    conf = make()
    with pytest.raises(DomainError) as err:
        conf.apply(command(by="ann"))
    assert err.value.code == "conference.moderator_only"
    assert not conf.recording


def test_start_twice_and_stop_without_a_recording_are_refused() -> None:
    conf = make()
    with pytest.raises(DomainError) as err:
        conf.apply(c.RecordStop(by="mod"))
    assert err.value.code == "recording.not_running"
    conf.apply(c.RecordStart(by="mod"))
    with pytest.raises(DomainError) as err:
        conf.apply(c.RecordStart(by="mod"))
    assert err.value.code == "recording.already_running"
    assert conf.recording


@pytest.mark.parametrize(
    "ending",
    [
        c.EndForAll(by="mod"),
        c.Reset(by="mod", confirm=True),
        c.CloseWindow(by_role=M),
    ],
)
def test_the_end_of_the_conference_stops_the_recording(ending: c.Command) -> None:
    conf = make()
    conf.apply(c.RecordStart(by="mod"))
    events = conf.apply(ending)
    stops = changed(events)
    assert [(e.recording, e.audience) for e in stops] == [(False, frozenset())]
    # told before the end, so the recorder closes while the room's mix still exists
    assert events.index(stops[0]) < next(
        i for i, e in enumerate(events) if isinstance(e, ev.ConferenceEnded)
    )
    assert not conf.recording


def test_the_last_one_leaving_stops_the_recording() -> None:
    conf = make()
    conf.apply(c.RecordStart(by="mod"))
    for pid in ("ann", "bob"):
        conf.apply(c.Leave(by=pid))
    events = conf.apply(c.Leave(by="mod"))
    assert [e.recording for e in changed(events)] == [False]
    assert conf.ended and not conf.recording


def test_an_end_without_a_recording_says_nothing_about_it() -> None:
    conf = make()
    assert changed(conf.apply(c.EndForAll(by="mod"))) == []


def test_no_conference_no_recording() -> None:
    with pytest.raises(DomainError) as err:
        apply_offline("room-1", False, c.RecordStart(by_role=M))
    assert err.value.code == "conference.not_running"


def test_recording_rows_are_controls_without_keys() -> None:
    rows = {ctl.command: ctl for ctl in CONTROLS}
    for command in (c.RecordStart, c.RecordStop):
        assert rows[command].keys is None
        assert rows[command].required_role is M
    assert None not in BY_KEYS
    assert all(ctl.keys for ctl in controls_for(M))  # the # menu names keys only
