"""The 1:1 call state machine (F-WB3): every transition, and every refused one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from confero.domain.calls import FINAL, Call, CallState
from confero.domain.errors import DomainError

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def ringing(*, waiting: bool = False) -> Call:
    return Call.start("ann", "Ann", "bob", "Bob", waiting=waiting, now=NOW)


def test_a_new_call_rings_with_an_unguessable_id() -> None:
    call = ringing()
    assert call.state is CallState.RINGING and call.ringing and not call.over
    assert call.started_at == NOW and call.room_id is None and call.join_url is None
    assert len(call.id) >= 22
    assert len({ringing().id for _ in range(50)}) == 50


def test_calling_oneself_is_invalid() -> None:
    with pytest.raises(DomainError) as exc:
        Call.start("ann", "Ann", "ann", "Ann", waiting=False, now=NOW)
    assert exc.value.code == "call.invalid"


def test_accept_carries_the_room_and_the_link() -> None:
    call = ringing().accept("room-1", "/join/tok?call=x")
    assert call.state is CallState.ACCEPTED
    assert (call.room_id, call.join_url) == ("room-1", "/join/tok?call=x")
    assert call.end().state is CallState.ENDED


@pytest.mark.parametrize(
    ("waiting", "step", "state"),
    [
        (False, Call.decline, CallState.DECLINED),
        (True, Call.decline, CallState.BUSY),
        (False, Call.ring_out, CallState.NO_ANSWER),
        (True, Call.ring_out, CallState.BUSY),
        (False, Call.cancel, CallState.CANCELLED),
        (True, Call.cancel, CallState.CANCELLED),
    ],
)
def test_how_a_ringing_call_ends(
    waiting: bool, step: Callable[[Call], Call], state: CallState
) -> None:
    call = step(ringing(waiting=waiting))
    assert call.state is state and call.over


ANSWERS: list[Callable[[Call], Call]] = [
    Call.decline,
    Call.cancel,
    Call.ring_out,
    lambda call: call.accept("room-2", "/join/other"),
]


@pytest.mark.parametrize("answer", ANSWERS)
@pytest.mark.parametrize(
    "done",
    [
        lambda call: call.accept("room-1", "/join/t"),
        Call.decline,
        Call.cancel,
        Call.ring_out,
        lambda call: call.accept("room-1", "/join/t").end(),
    ],
)
def test_a_call_that_no_longer_rings_takes_no_answer(
    done: Callable[[Call], Call], answer: Callable[[Call], Call]
) -> None:
    call = done(ringing())
    with pytest.raises(DomainError) as exc:
        answer(call)
    assert exc.value.code == "call.over"
    assert exc.value.context["state"] == call.state.value


@pytest.mark.parametrize("step", [lambda call: call, Call.decline, Call.cancel, Call.ring_out])
def test_only_an_accepted_call_ends(step: Callable[[Call], Call]) -> None:
    with pytest.raises(DomainError) as exc:
        step(ringing()).end()
    assert exc.value.code == "call.over"


def test_the_final_states() -> None:
    assert set(CallState) - FINAL == {CallState.RINGING, CallState.ACCEPTED}


def test_parties() -> None:
    call = ringing()
    assert call.party("ann") and call.party("bob") and not call.party("cid")
    assert call.other("ann") == "bob" and call.other("bob") == "ann"
