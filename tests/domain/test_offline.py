"""Lock, unlock and reset of a room with no conference (confero/domain/offline.py): the
live conference's rules applied to the stored room."""

from __future__ import annotations

import pytest

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.offline import apply_offline
from confero.domain.roles import Role


def refused(code: str, locked: bool, cmd: c.Command) -> None:
    with pytest.raises(DomainError) as info:
        apply_offline("room", locked, cmd)
    assert info.value.code == code


def test_lock_and_unlock_change_only_what_is_different() -> None:
    [locked] = apply_offline("room", False, c.Lock(by_role=Role.MODERATOR))
    assert locked == ev.LockChanged(room_id="room", locked=True)
    assert apply_offline("room", True, c.Lock(by_role=Role.MODERATOR)) == []
    [unlocked] = apply_offline("room", True, c.Unlock(by_role=Role.MODERATOR))
    assert unlocked == ev.LockChanged(room_id="room", locked=False)
    assert apply_offline("room", False, c.Unlock(by_role=Role.MODERATOR)) == []


def test_reset_needs_its_confirmation_as_in_a_live_conference() -> None:
    refused("command.confirmation_required", False, c.Reset(by_role=Role.MODERATOR))
    events = apply_offline("room", False, c.Reset(by_role=Role.MODERATOR, confirm=True))
    assert events == [ev.RoomResetRequested(room_id="room")]


def test_only_moderators_and_only_these_commands() -> None:
    refused("conference.moderator_only", False, c.Lock(by_role=Role.PARTICIPANT))
    refused("conference.moderator_only", False, c.Lock())
    refused("conference.not_running", False, c.MuteAll(by_role=Role.MODERATOR))
    refused("conference.not_running", False, c.Lock(by="someone", by_role=Role.MODERATOR))
