"""What the node and a media worker say to each other (``channel.py`` carries it).

Frozen: a message is a fact once sent. Leg ids are unique on the node (a phone leg's
random id, a browser's participant id), so a leg is named without its room after it
was placed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ---------------------------------------------------------------- node -> worker


@dataclass(frozen=True, slots=True)
class PlaceRtpLeg:
    """A phone leg enters ``room``: its sockets come with the message (RTP, then RTCP
    when it has one); ``state`` is its ``media.leg.LegState``."""

    room: str
    state: Any
    listening: bool
    owner: str | None


@dataclass(frozen=True, slots=True)
class PlacePipeLeg:
    """A leg that stays on the node (a browser) is mixed in ``room``."""

    room: str
    leg_id: str
    codec: Any
    listening: bool
    owner: str | None


@dataclass(frozen=True, slots=True)
class RemoveLeg:
    room: str
    leg_id: str


@dataclass(frozen=True, slots=True)
class MoveLeg:
    """A phone leg leaves ``source`` for ``room`` on the same worker (a caller leaves
    the voice menu for the conference): its sockets stay where they are."""

    leg_id: str
    source: str
    room: str
    listening: bool
    owner: str | None


@dataclass(frozen=True, slots=True)
class Release:
    """Give a phone leg's sockets and state back (``Released``): it goes on in another
    worker, or on the node."""

    leg_id: str
    room: str


@dataclass(frozen=True, slots=True)
class Tap:
    """Send a leg's incoming audio to the node (``Tapped``), or stop: a caller's name
    is recorded from it."""

    leg_id: str
    on: bool


@dataclass(frozen=True, slots=True)
class SetMix:
    """One of the leg's mix settings: muted, gain, listening, overlay_only."""

    leg_id: str
    name: str
    value: Any


@dataclass(frozen=True, slots=True)
class Overlay:
    """Samples (int16, 48 kHz) to play to the leg alone; ``clear`` first when set."""

    leg_id: str
    samples: bytes
    clear: bool = False


@dataclass(frozen=True, slots=True)
class CallLeg:
    """A phone leg's method called with ``args`` (the call's signalling changed it:
    ``set_remote``, ``set_codec``, ``set_rtcp_remote``, ``configure``)."""

    leg_id: str
    method: str
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Frames:
    """This tick's frames of legs on the node (None: silent)."""

    frames: tuple[tuple[str, bytes | None], ...]


@dataclass(frozen=True, slots=True)
class Record:
    """Hand ``room``'s voices to the node every tick (or stop)."""

    room: str
    on: bool


@dataclass(frozen=True, slots=True)
class Stop:
    pass


# ---------------------------------------------------------------- worker -> node


@dataclass(frozen=True, slots=True)
class Ready:
    """The worker's clock ticks (its start-up, imports included, takes a second or two)."""


@dataclass(frozen=True, slots=True)
class Digit:
    leg_id: str
    digit: str


@dataclass(frozen=True, slots=True)
class Sent:
    """The mix for legs on the node: (leg id, payload, encoded) — encoded payloads go
    out as they are, frames (int16 48 kHz) are encoded on the node (a private mix)."""

    out: tuple[tuple[str, bytes, bool], ...]


@dataclass(frozen=True, slots=True)
class Voices:
    """One tick of a recorded room's voices (int16, 48 kHz)."""

    room: str
    frame: bytes


@dataclass(frozen=True, slots=True)
class Released:
    """A released phone leg (``media.leg.LegState``): its sockets come with it."""

    state: Any


@dataclass(frozen=True, slots=True)
class Tapped:
    """One frame of a tapped leg's incoming audio (int16, 48 kHz)."""

    leg_id: str
    frame: bytes


@dataclass(frozen=True, slots=True)
class Talking:
    room: str
    who: frozenset[str]


@dataclass(frozen=True, slots=True)
class Heard:
    """Per phone leg: when it was last heard, its RTCP figures (``CallQuality``)."""

    legs: tuple[tuple[str, float, Any], ...]


@dataclass(frozen=True, slots=True)
class Reception:
    """One RTCP interval of a phone leg's reception (loss fraction, jitter seconds)."""

    leg_id: str
    loss: float
    jitter: float


@dataclass(frozen=True, slots=True)
class Clock:
    """The worker's tick since the last report: counters, and each tick's (lateness,
    duration) for the node's histograms."""

    ticks: int
    late: int
    late_20ms: int
    max_late: float
    busy: float
    lag: float
    legs: int
    samples: tuple[tuple[float, float], ...]
    #: the late > 20 ms ticks by cause: waited for a core, own work, other
    late_waited: int = 0
    late_own_work: int = 0
    late_other: int = 0
