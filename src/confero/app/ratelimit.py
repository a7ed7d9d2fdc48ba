"""Failure counting for sign-in and PIN guessing (security by default).

``RateLimiter``: at most ``limit`` failures per ``window`` per key (a source address, an
account, a call); past that every attempt is refused until old failures age out.
``GuessGuard`` (issue 14): PIN and conference-number failures counted per caller id, per
source address and per room at once, with growing delays and a room-wide lock-out its
owner sees and lifts; the caller id alone was chosen by the guesser. ``Backoff``
(issue 14): sign-in slows an account down instead of locking its owner out. Kept in
process memory: one server process owns its sources. (A cluster will keep the counters
in Redis.)
"""

from __future__ import annotations

import ipaddress
import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from confero.domain.errors import DomainError


class RateLimiter:
    def __init__(self, limit: int = 5, window: timedelta = timedelta(minutes=10)) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[datetime]] = {}

    def _recent(self, key: str, now: datetime) -> deque[datetime]:
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def check(self, key: str, now: datetime) -> None:
        q = self._recent(key, now)
        if len(q) >= self.limit:
            retry = int((q[0] + self.window - now).total_seconds()) + 1
            raise DomainError(
                "auth.rate_limited",
                "too many failed attempts; try again later",
                retry_after=retry,
            )

    def fail(self, key: str, now: datetime) -> None:
        self._recent(key, now)
        self._failures.setdefault(key, deque()).append(now)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)


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


@dataclass
class _Key:
    failures: deque[datetime] = field(default_factory=deque)
    locked_until: datetime | None = None


class GuessGuard:
    """Failure counters with lock-outs for several keys at once (caller, source, room).

    ``check`` refuses (``auth.rate_limited`` with ``retry_after``) while any key is
    locked; ``fail`` counts a failure on every key, locks those that reach their limit
    and returns the delay the caller waits before its next try. In process memory,
    bounded: at most ``max_keys`` keys, expired ones purged first."""

    def __init__(self, policy: GuessPolicy, max_keys: int = 100_000) -> None:
        self.policy = policy
        self.max_keys = max_keys
        self._keys: dict[str, _Key] = {}

    def _get(self, key: str, now: datetime) -> _Key | None:
        entry = self._keys.get(key)
        if entry is None:
            return None
        if entry.locked_until is not None and entry.locked_until <= now:
            entry.locked_until = None
            entry.failures.clear()
        while entry.failures and entry.failures[0] <= now - self.policy.window:
            entry.failures.popleft()
        if entry.locked_until is None and not entry.failures:
            del self._keys[key]
            return None
        return entry

    def locked_until(self, key: str, now: datetime) -> datetime | None:
        entry = self._get(key, now)
        return entry.locked_until if entry is not None else None

    def check(self, limits: Mapping[str, int], now: datetime) -> None:
        until = [u for key in limits if (u := self.locked_until(key, now)) is not None]
        if until:
            retry = int((max(until) - now).total_seconds()) + 1
            raise DomainError(
                "auth.rate_limited",
                "too many failed attempts; try again later",
                retry_after=retry,
            )

    def fail(
        self, limits: Mapping[str, int], now: datetime, lockouts: Mapping[str, timedelta]
    ) -> float:
        """Count one failure on every key; returns seconds to wait before the next try."""
        if len(self._keys) >= self.max_keys:
            self._purge(now)
        most = 0
        for key, limit in limits.items():
            entry = self._get(key, now) or self._keys.setdefault(key, _Key())
            entry.failures.append(now)
            most = max(most, len(entry.failures))
            if limit and len(entry.failures) >= limit and entry.locked_until is None:
                entry.locked_until = now + lockouts.get(key, self.policy.window)
        if most < 2:
            return 0.0
        return min(self.policy.delay * 2.0 ** (most - 2), self.policy.max_delay)

    def lift(self, key: str) -> None:
        self._keys.pop(key, None)

    def _purge(self, now: datetime) -> None:
        for key in list(self._keys):
            self._get(key, now)
        # Still full: the oldest unlocked keys go first, so a flood of new keys cannot
        # wash a lock-out away.
        for key in [k for k, e in self._keys.items() if e.locked_until is None]:
            if len(self._keys) < self.max_keys:
                return
            del self._keys[key]
        while len(self._keys) >= self.max_keys:
            del self._keys[next(iter(self._keys))]


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
    ) -> None:
        self.free, self.base, self.cap, self.window = free, base, cap, window
        self.max_keys = max_keys
        self._failures: dict[str, deque[datetime]] = {}
        self._next: dict[str, datetime] = {}

    def check(self, key: str, now: datetime) -> None:
        ready = self._next.get(key)
        if ready is not None and now < ready:
            raise DomainError(
                "auth.rate_limited",
                "too many failed attempts; try again later",
                retry_after=math.ceil((ready - now).total_seconds()),
            )

    def fail(self, key: str, now: datetime) -> None:
        if key not in self._failures and len(self._failures) >= self.max_keys:
            self._purge(now)
        q = self._failures.setdefault(key, deque())
        while q and q[0] <= now - self.window:
            q.popleft()
        q.append(now)
        if len(q) >= self.free:
            wait = min(self.base * 2 ** (len(q) - self.free), self.cap)
            self._next[key] = now + timedelta(seconds=wait)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)
        self._next.pop(key, None)

    def _purge(self, now: datetime) -> None:
        for key, q in list(self._failures.items()):
            if not q or q[-1] <= now - self.window:
                self.forget(key)
        while len(self._failures) >= self.max_keys:
            self.forget(next(iter(self._failures)))
