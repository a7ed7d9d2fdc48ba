"""Failure counting for sign-in and PIN guessing (security by default).

``RateLimiter``: at most ``limit`` failures per ``window`` per key (a source address, an
account, a call); past that every attempt is refused until old failures age out.
``GuessGuard`` (issue 14): PIN and conference-number failures counted per caller id, per
source address and per room at once, with growing delays and a room-wide lock-out its
owner sees and lifts; the caller id alone was chosen by the guesser. ``Backoff``
(issue 14): sign-in slows an account down instead of locking its owner out.

Each keeps its policy here and its counters in a ``CounterStore`` (app/counters.py):
process memory by default, Redis on a cluster node (issue 16, F-SC2), where a guesser
spreading tries over the nodes meets one count. The checks are async for that reason.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from confero.app.counters import CounterStore, MemoryCounters, Rule
from confero.domain.errors import DomainError


class RateLimiter:
    def __init__(
        self,
        limit: int = 5,
        window: timedelta = timedelta(minutes=10),
        store: CounterStore | None = None,
    ) -> None:
        self.limit = limit
        self.window = window
        self.store: CounterStore = store or MemoryCounters()

    def _rule(self, key: str) -> Rule:
        return Rule(key, self.window, self.limit)

    async def check(self, key: str, now: datetime) -> None:
        (tally,) = await self.store.read([self._rule(key)], now)
        if tally.count >= self.limit and tally.oldest is not None:
            raise _refused(int((tally.oldest + self.window - now).total_seconds()) + 1)

    async def fail(self, key: str, now: datetime, times: int = 1) -> None:
        """Count ``times`` failures (one round trip however many)."""
        await self.store.add([self._rule(key)] * times, now)

    async def forget(self, key: str) -> None:
        await self.store.forget([key])


def _refused(retry_after: int) -> DomainError:
    return DomainError(
        "auth.rate_limited", "too many failed attempts; try again later", retry_after=retry_after
    )


# ----------------------------------------------------------------- guessing (issue 14)


@dataclass(frozen=True)
class GuessPolicy:
    """How PIN and conference-number guessing is slowed and stopped (issue 14, item 3).

    Failures count per caller id (which the caller chooses), per source address (unless
    it is a trusted proxy: behind one every call comes from the same address) and per
    conference number (any digits, so a number nobody has locks exactly like a room's:
    no oracle). A key at its limit is locked: the caller and source keys for ``window``,
    a room for ``room_lockout`` unless its owner lifts it first. Between tries of one
    call the IVR waits ``delay`` seconds after the second failure, doubling up to
    ``max_delay``: guessing costs time before it costs a lock-out."""

    per_caller: int = 5
    per_source: int = 10
    per_room: int = 10
    window: timedelta = timedelta(minutes=10)
    room_lockout: timedelta = timedelta(minutes=15)
    delay: float = 1.0
    max_delay: float = 30.0
    trusted_proxies: tuple[str, ...] = ()

    def trusted(self, address: str) -> bool:
        return is_trusted(address, self.trusted_proxies)


def parse_networks(text: str) -> tuple[str, ...]:
    """``"10.0.0.0/8, 192.0.2.7"`` -> the networks; a malformed entry is an error (a typo
    must not silently trust nobody, or everybody)."""
    out = []
    for item in text.split(","):
        if item := item.strip():
            try:
                out.append(str(ipaddress.ip_network(item, strict=False)))
            except ValueError:
                raise ValueError(f"not an address or network: {item!r}") from None
    return tuple(out)


def is_trusted(address: str, networks: tuple[str, ...]) -> bool:
    """Whether ``address`` lies in one of ``networks`` (addresses or CIDR blocks)."""
    if not networks:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for net in networks:
        try:
            if ip in ipaddress.ip_network(net, strict=False):
                return True
        except ValueError:
            continue
    return False


class GuessGuard:
    """Failure counters with lock-outs for several keys at once (caller, source, room).

    ``check`` refuses (``auth.rate_limited`` with ``retry_after``) while any key is
    locked; ``fail`` counts a failure on every key, locks those that reach their limit
    and returns the delay the caller waits before its next try. The counters live in
    ``store``: this process's memory (bounded: at most ``max_keys`` keys) or, in a
    cluster, Redis, so that every node sees one count and one lock-out (issue 16)."""

    def __init__(
        self, policy: GuessPolicy, store: CounterStore | None = None, max_keys: int = 100_000
    ) -> None:
        self.policy = policy
        self.store: CounterStore = store or MemoryCounters(max_keys)

    def _rule(self, key: str, limit: int = 0, hold: timedelta | None = None) -> Rule:
        return Rule(key, self.policy.window, limit, self.policy.window if hold is None else hold)

    async def locked_until(self, key: str, now: datetime) -> datetime | None:
        (tally,) = await self.store.read([self._rule(key)], now)
        return tally.until

    async def check(self, limits: Mapping[str, int], now: datetime) -> None:
        tallies = await self.store.read([self._rule(key) for key in limits], now)
        until = [t.until for t in tallies if t.until is not None]
        if until:
            raise _refused(int((max(until) - now).total_seconds()) + 1)

    async def fail(
        self, limits: Mapping[str, int], now: datetime, lockouts: Mapping[str, timedelta]
    ) -> float:
        """Count one failure on every key; returns seconds to wait before the next try."""
        rules = [self._rule(key, limit, lockouts.get(key)) for key, limit in limits.items()]
        most = max((t.count for t in await self.store.add(rules, now)), default=0)
        if most < 2:
            return 0.0
        return min(self.policy.delay * 2.0 ** (most - 2), self.policy.max_delay)

    async def lift(self, key: str) -> None:
        await self.store.forget([key])


class Backoff:
    """Progressive delay per key (sign-in per account, issue 14): the first ``free``
    failures in ``window`` cost nothing; after that each failure makes the key wait
    ``base`` seconds, doubling up to ``cap``, before the next attempt is looked at.
    Unlike a lock-out, anybody's guessing only slows the owner down: the right password
    gets in at most ``cap`` seconds after the last wrong one. Attempts refused while
    waiting are not counted (they are not looked at)."""

    def __init__(
        self,
        free: int = 5,
        base: float = 1.0,
        cap: float = 60.0,
        window: timedelta = timedelta(minutes=10),
        max_keys: int = 100_000,
        store: CounterStore | None = None,
    ) -> None:
        self.free, self.base, self.cap, self.window = free, base, cap, window
        self.store: CounterStore = store or MemoryCounters(max_keys)

    def _rule(self, key: str) -> Rule:
        hold, cap = timedelta(seconds=self.base), timedelta(seconds=self.cap)
        return Rule(key, self.window, self.free, hold, cap)

    async def check(self, key: str, now: datetime) -> None:
        (tally,) = await self.store.read([self._rule(key)], now)
        if tally.until is not None and now < tally.until:
            raise _refused(math.ceil((tally.until - now).total_seconds()))

    async def fail(self, key: str, now: datetime) -> None:
        await self.store.add([self._rule(key)], now)

    async def forget(self, key: str) -> None:
        await self.store.forget([key])
