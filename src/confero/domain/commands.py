"""Conference commands: the one vocabulary shared by keypad, browser buttons and REST.

Each command names itself (``name``, used on the wire) and the role it needs, so that the
keypad table, the API and the actor check permissions from one place.

The wire bodies of REST and the WebSocket are generated from these classes
(``confero.app.contract``, issue 10 Deliver 4): a command's fields are its arguments,
minus ``by``/``by_role`` (the server fills them in) and the ``server_filled`` ones;
``ARGUMENT_MAX_LENGTH`` bounds the text a client may send for each.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar

from confero.domain.roles import Role


@dataclass(frozen=True)
class Command:
    """``by`` is the issuing participant's id, or None for an API caller who is not in
    the conference; then ``by_role`` carries the role the app resolved for them."""

    name: ClassVar[str]
    required_role: ClassVar[Role] = Role.PARTICIPANT
    #: False: no client sends it by name (``join`` has its own path, ``close_window``
    #: is the server's own).
    on_the_wire: ClassVar[bool] = True
    #: Fields only the server may set (besides ``by``/``by_role``).
    server_filled: ClassVar[frozenset[str]] = frozenset()
    by: str | None = None
    by_role: Role | None = None


@dataclass(frozen=True, kw_only=True)
class Join(Command):
    name: ClassVar[str] = "join"
    on_the_wire: ClassVar[bool] = False
    server_filled: ClassVar[frozenset[str]] = frozenset({"returning"})
    participant_id: str
    display_name: str
    role: Role
    channel: str  # "phone" | "browser" | "api"
    #: Who this is across drops: an account id, a resume token, a caller id. A rejoin
    #: with the same identity gets its role back and does not knock again (F-EN7).
    identity: str
    account_id: str | None = None
    #: Let into this room's meeting before, as the server checked (issue 16): a page's
    #: resume token whose record says it was in, a relayed call's record likewise
    #: (app/session.py). It enters a locked room again without knocking, though this
    #: conference never saw it (its owner node died); it gets no higher role from it.
    #: Only the server sets it: no client body reaches a ``Join``.
    returning: bool = False


@dataclass(frozen=True)
class Leave(Command):
    name: ClassVar[str] = "leave"
    #: "left" (hung up, clicked Leave) or "dropped" (network loss, closed tab).
    reason: str = "left"


@dataclass(frozen=True)
class ToggleMute(Command):
    name: ClassVar[str] = "toggle_mute"


@dataclass(frozen=True)
class Mute(Command):
    """Mute oneself, or (moderator) mute ``target``."""

    name: ClassVar[str] = "mute"
    target: str | None = None


@dataclass(frozen=True)
class Unmute(Command):
    name: ClassVar[str] = "unmute"
    target: str | None = None


@dataclass(frozen=True)
class ToggleAnnouncements(Command):
    name: ClassVar[str] = "toggle_announcements"


@dataclass(frozen=True)
class ListParticipants(Command):
    name: ClassVar[str] = "list_participants"


@dataclass(frozen=True)
class Menu(Command):
    name: ClassVar[str] = "menu"


@dataclass(frozen=True)
class VolumeDown(Command):
    name: ClassVar[str] = "volume_down"


@dataclass(frozen=True)
class VolumeUp(Command):
    name: ClassVar[str] = "volume_up"


@dataclass(frozen=True)
class RaiseHand(Command):
    name: ClassVar[str] = "raise_hand"


@dataclass(frozen=True)
class LowerHand(Command):
    """Lower one's own hand, or (moderator) someone else's."""

    name: ClassVar[str] = "lower_hand"
    target: str | None = None


@dataclass(frozen=True)
class Invite(Command):
    name: ClassVar[str] = "invite"
    required_role: ClassVar[Role] = Role.MODERATOR
    number: str = ""


@dataclass(frozen=True)
class EndForAll(Command):
    name: ClassVar[str] = "end_for_all"
    required_role: ClassVar[Role] = Role.MODERATOR
    #: A client may not claim that the reservation window closed.
    server_filled: ClassVar[frozenset[str]] = frozenset({"reason"})
    reason: str = "ended_by_host"


@dataclass(frozen=True)
class EndForAllButMe(Command):
    name: ClassVar[str] = "end_for_all_but_me"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class KickLast(Command):
    name: ClassVar[str] = "kick_last"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class Kick(Command):
    name: ClassVar[str] = "kick"
    required_role: ClassVar[Role] = Role.MODERATOR
    target: str = ""


@dataclass(frozen=True)
class Lock(Command):
    name: ClassVar[str] = "lock"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class Unlock(Command):
    name: ClassVar[str] = "unlock"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class MuteAll(Command):
    name: ClassVar[str] = "mute_all"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class UnmuteAll(Command):
    name: ClassVar[str] = "unmute_all"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class Admit(Command):
    name: ClassVar[str] = "admit"
    required_role: ClassVar[Role] = Role.MODERATOR
    target: str = ""


@dataclass(frozen=True)
class Deny(Command):
    name: ClassVar[str] = "deny"
    required_role: ClassVar[Role] = Role.MODERATOR
    target: str = ""


@dataclass(frozen=True)
class AdmitNext(Command):
    """Admit whoever has knocked longest ago: the keypad's ``*22``, where a phone cannot
    point at a name in the lobby list (issue 10, parity)."""

    name: ClassVar[str] = "admit_next"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class Reset(Command):
    """Ends the conference and deletes the room's content; asks first (F-EN4)."""

    name: ClassVar[str] = "reset"
    required_role: ClassVar[Role] = Role.MODERATOR
    confirm: bool = False


@dataclass(frozen=True)
class RecordStart(Command):
    """Start recording the conference's voices (issue 12, F-RC1); everyone is told."""

    name: ClassVar[str] = "record_start"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class RecordStop(Command):
    """Stop the running recording; it is stored and listed with the room."""

    name: ClassVar[str] = "record_stop"
    required_role: ClassVar[Role] = Role.MODERATOR


@dataclass(frozen=True)
class CloseWindow(Command):
    """Issued by the system when a reservation window ends (F-RS4)."""

    name: ClassVar[str] = "close_window"
    required_role: ClassVar[Role] = Role.MODERATOR
    on_the_wire: ClassVar[bool] = False


COMMANDS: dict[str, type[Command]] = {
    cls.name: cls
    for cls in (
        Join,
        Leave,
        ToggleMute,
        Mute,
        Unmute,
        ToggleAnnouncements,
        ListParticipants,
        Menu,
        VolumeDown,
        VolumeUp,
        RaiseHand,
        LowerHand,
        Invite,
        EndForAll,
        EndForAllButMe,
        KickLast,
        Kick,
        Lock,
        Unlock,
        MuteAll,
        UnmuteAll,
        Admit,
        Deny,
        AdmitNext,
        Reset,
        RecordStart,
        RecordStop,
        CloseWindow,
    )
}

#: Fields of every command that the server fills in from who is asking.
SERVER_FIELDS = frozenset({"by", "by_role"})

#: The longest text a client may send for each argument (ids, a phone number, a reason).
ARGUMENT_MAX_LENGTH: Mapping[str, int] = MappingProxyType(
    {"target": 64, "number": 32, "reason": 20}
)
