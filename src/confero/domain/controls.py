"""The keypad table of F-PH2/F-PH3 as data, in one place (house rule 3).

A row names the keys, the command they trigger and a short label; the role a control
needs comes from the command itself, so the keypad and the API can never disagree.
Adding a control is one row here plus the command's handler in ``conference``.

A row without keys (``keys=None``) is a control of the page and the API only: recording
(issue 12) has no key because seed 001 gives none, and a phone caller has no way to
play or delete the file anyway. The ``#`` menu and the keypad read the keyed rows only
(``KEYPAD``).
"""

from __future__ import annotations

from dataclasses import dataclass

from confero.domain import commands as c
from confero.domain.roles import Role


@dataclass(frozen=True)
class Control:
    keys: str | None
    command: type[c.Command]
    label: str
    #: ``*8`` is followed by a phone number and ``#``.
    takes_number: bool = False

    @property
    def required_role(self) -> Role:
        return self.command.required_role


CONTROLS: tuple[Control, ...] = (
    Control("#", c.Menu, "hear the available controls"),
    Control("*1", c.ToggleMute, "mute or unmute yourself"),
    Control("*2", c.ToggleAnnouncements, "announcements of new participants on or off"),
    Control("*3", c.ListParticipants, "hear who is in the conference"),
    Control("*7", c.VolumeDown, "softer"),
    Control("*9", c.VolumeUp, "louder"),
    Control("*8", c.Invite, "invite a new participant by phone", takes_number=True),
    Control("*30", c.EndForAll, "end the conference for everyone"),
    Control("*31", c.KickLast, "remove the participant who joined last"),
    Control("*21", c.Lock, "lock the conference"),
    Control("*20", c.Unlock, "unlock the conference"),
    Control("*22", c.AdmitNext, "admit the caller who has waited longest"),
    Control("*11", c.MuteAll, "mute all participants"),
    Control("*10", c.UnmuteAll, "unmute all participants"),
    Control(None, c.RecordStart, "start recording the conference"),
    Control(None, c.RecordStop, "stop recording the conference"),
)

#: The rows a phone can press: seed 001's keypad.
KEYPAD: tuple[Control, ...] = tuple(ctl for ctl in CONTROLS if ctl.keys is not None)
BY_KEYS: dict[str, Control] = {ctl.keys: ctl for ctl in KEYPAD if ctl.keys is not None}


def controls_for(role: Role) -> tuple[Control, ...]:
    """What the ``#`` menu lists for a caller with ``role``: keyed rows only."""
    return tuple(ctl for ctl in KEYPAD if role.allows(ctl.required_role))


def is_prefix(keys: str) -> bool:
    """True while ``keys`` could still grow into a control (``*3`` before ``*30``)."""
    return any(k.startswith(keys) and k != keys for k in BY_KEYS)
