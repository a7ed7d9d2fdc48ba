"""Chat flood limits per sender and per room (issue 14).

Before, the only limit was per socket, and sockets are free: 1,000 guest sockets with 50
of them flooding stored 497 messages in 29 s, and REST chat had no limit at all. Every
post now counts, whatever path it takes (socket or REST), against its sender (an account,
a joined participant, or a guest's address, which outlive any one socket) and, for
guests, against the room as a whole (members are held to their own limit only); over
either limit it is refused with ``chat.rate_limited`` and the seconds to wait
(``retry_after``).

Shared in a cluster (issue 16, F-SC2): sockets are proxied to the room's owner node, but
REST chat can be posted on any node, so the windows live in the ``CounterStore`` (Redis
on a cluster node): a flood spread over the nodes meets one budget. The clock is the
wall clock, the one the nodes share; a step of it only shifts a 10-second window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from confero.app.counters import CounterStore, MemoryCounters, Rule, Tally
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
        clock: Callable[[], float] = time.time,
        store: CounterStore | None = None,
    ) -> None:
        self.policy = policy or ChatLimitPolicy()
        self._clock = clock
        self.store: CounterStore = store or MemoryCounters()

    async def check(self, room_id: str, sender: str, *, member: bool = False) -> None:
        """Count one post by ``sender`` in the room, or refuse it (nothing counted).
        ``sender`` is ``account:<id>``, ``participant:<id>`` or ``address:<ip>``.

        The room's budget is what strangers (guests) share; a ``member`` (the owner or an
        account with a role in the room) is held to its own burst only, so that guests
        flooding a room cannot silence the people it belongs to (issue 14's rerun)."""
        now = datetime.fromtimestamp(self._clock(), UTC)
        rules = self._rules(room_id, sender, member)
        tallies = await self.store.add(rules, now, if_below=True)
        if not tallies[0].added:
            wait = max(_wait(t, rule, now) for t, rule in zip(tallies, rules, strict=True))
            raise DomainError(
                "chat.rate_limited",
                "too many messages; wait a moment",
                retry_after=int(wait) + 1,
            )

    def _rules(self, room_id: str, sender: str, member: bool) -> list[Rule]:
        p = self.policy
        burst = p.address_burst if sender.startswith("address:") else p.sender_burst
        rules = [Rule(f"chat:sender:{room_id}:{sender}", timedelta(seconds=p.sender_window), burst)]
        if not member:
            rules.append(
                Rule(f"chat:room:{room_id}", timedelta(seconds=p.room_window), p.room_burst)
            )
        return rules


def _wait(tally: Tally, rule: Rule, now: datetime) -> float:
    """Seconds until one more fits in the rule's window (0: it fits now)."""
    if tally.count < rule.limit or tally.oldest is None:
        return 0.0
    return (tally.oldest + rule.window - now).total_seconds()
