"""Lock, unlock and reset of a room while no conference runs (F-EN2, F-EN4).

A moderator may lock a room before anyone is in it, and reset it between meetings.
These are the live conference's own rules (``conference.py``) applied to the stored
room: the same role, the same confirmation, and the same events, which the room-state
projection then persists (``app/room_state.py``). Nothing else can be done to a room
with no conference.
"""

from __future__ import annotations

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.errors import DomainError

#: The commands that act on a room with no conference running.
OFFLINE_COMMANDS = (c.Lock, c.Unlock, c.Reset)


def require_confirmation(cmd: c.Reset) -> None:
    """A reset deletes content: only an explicit confirmation lets it go on."""
    if not cmd.confirm:
        raise DomainError(
            "command.confirmation_required",
            "resetting deletes the room's chat, files and activity: confirm to go on",
        )


def apply_offline(room_id: str, locked: bool, cmd: c.Command) -> list[ev.Event]:
    """The events of ``cmd`` on a room that is stored ``locked`` and has no conference.

    Raises ``DomainError`` (and nothing happens) for any other command, for one sent as a
    participant (there is no conference to be in), and for a role that may not do it.
    """
    if not isinstance(cmd, OFFLINE_COMMANDS) or cmd.by is not None:
        raise DomainError("conference.not_running", "no conference is running in this room")
    if cmd.by_role is None or not cmd.by_role.allows(cmd.required_role):
        raise DomainError("conference.moderator_only", "this is only for the moderator")
    if isinstance(cmd, c.Reset):
        require_confirmation(cmd)
        return [ev.RoomResetRequested(room_id=room_id)]
    wanted = isinstance(cmd, c.Lock)
    if locked == wanted:
        return []
    return [ev.LockChanged(room_id=room_id, locked=wanted)]
