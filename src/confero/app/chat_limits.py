"""Chat flood limits per sender and per room (issue 14).

Before, the only limit was per socket, and sockets are free: 1,000 guest sockets with 50
of them flooding stored 497 messages in 29 s, and REST chat had no limit at all. Every
post now counts, whatever path it takes (socket or REST), against its sender (an account,
a joined participant, or a guest's address, which outlive any one socket) and, for
guests, against the room as a whole (members are held to their own limit only); over
either limit it is refused with ``chat.rate_limited`` and the seconds to wait
(``retry_after``). Sliding windows in memory: one process serves a room.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from confero.domain.errors import DomainError

#: Messages one sender may post per window (seconds), on any socket or over REST.
SENDER_BURST = 10
SENDER_WINDOW = 10.0
#: Guests who have not joined are known by their address only, which people behind one
#: NAT share: a larger allowance per address (each socket keeps its own smaller one).
ADDRESS_BURST = 30
#: Messages one room takes per window from everyone together.
ROOM_BURST = 60
ROOM_WINDOW = 10.0
#: Windows kept before the idle ones are swept (bounds memory under many senders).
_SWEEP_AT = 10_000


@dataclass(frozen=True)
class ChatLimitPolicy:
    sender_burst: int = SENDER_BURST
    sender_window: float = SENDER_WINDOW
    address_burst: int = ADDRESS_BURST
    room_burst: int = ROOM_BURST
    room_window: float = ROOM_WINDOW


class ChatLimits:
    def __init__(
        self,
        policy: ChatLimitPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.policy = policy or ChatLimitPolicy()
        self._clock = clock
        self._senders: dict[tuple[str, str], deque[float]] = {}
        self._rooms: dict[str, deque[float]] = {}

    def check(self, room_id: str, sender: str, *, member: bool = False) -> None:
        """Count one post by ``sender`` in the room, or refuse it (nothing counted).
        ``sender`` is ``account:<id>``, ``participant:<id>`` or ``address:<ip>``.

        The room's budget is what strangers (guests) share; a ``member`` (the owner or an
        account with a role in the room) is held to its own burst only, so that guests
        flooding a room cannot silence the people it belongs to (issue 14's rerun)."""
        p = self.policy
        now = self._clock()
        if len(self._senders) > _SWEEP_AT:
            self._sweep(now)
        burst = p.address_burst if sender.startswith("address:") else p.sender_burst
        mine = self._senders.setdefault((room_id, sender), deque())
        room = self._rooms.setdefault(room_id, deque())
        wait = _wait(mine, now, burst, p.sender_window)
        if not member:
            wait = max(wait, _wait(room, now, p.room_burst, p.room_window))
        if wait > 0:
            raise DomainError(
                "chat.rate_limited",
                "too many messages; wait a moment",
                retry_after=int(wait) + 1,
            )
        mine.append(now)
        if not member:
            room.append(now)

    def _sweep(self, now: float) -> None:
        horizon = max(self.policy.sender_window, self.policy.room_window)
        for table in (self._senders, self._rooms):
            for key in [k for k, q in table.items() if not q or q[-1] <= now - horizon]:
                del table[key]  # type: ignore[arg-type]


def _wait(sent: deque[float], now: float, burst: int, window: float) -> float:
    """Seconds until one more fits in the window (0: it fits now)."""
    while sent and sent[0] <= now - window:
        sent.popleft()
    if len(sent) < burst:
        return 0.0
    return sent[0] + window - now
