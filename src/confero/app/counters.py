"""Where failure counters live: the port (``CounterStore``) and its in-memory adapter.

Issue 16 (F-SC2, item 3): PIN guesses spread over three nodes must meet one limit, and an
account's sign-in slow-down must hold whichever node the next try reaches. So the
counting rules of app/ratelimit.py and app/chat_limits.py keep their policy (limits,
delays, error codes) and hand the storage to this port: one process keeps it in memory
(``MemoryCounters``, exactly the old behaviour), a cluster node in Redis
(bus/redis_counters.py). Each call is one batch over several keys, so a store that
lives across the network answers a check or a failure in one round trip, atomically.

The model is the one the guards already had: per key a log of failure times (a sliding
window) and an optional *hold* until a deadline. Time is the caller's ``now`` (house
rule 4): stores never read a clock, so a fake clock drives Redis too.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

NO_HOLD = timedelta(0)


@dataclass(frozen=True)
class Rule:
    """How one key counts. At ``limit`` failures in ``window`` the key is *held* for
    ``hold`` (none when zero): with ``cap`` None a lock-out taken once, whose end also
    forgets the key's failures (``GuessGuard``); with a ``cap`` a slow-down that doubles
    per failure past the limit up to ``cap`` and is renewed by every failure, failures
    kept (``Backoff``)."""

    key: str
    window: timedelta
    limit: int = 0
    hold: timedelta = NO_HOLD
    cap: timedelta | None = None


@dataclass(frozen=True)
class Tally:
    """One key after a call: failures in its window, the oldest of them, the end of a
    hold still running, and whether this call counted (``add``)."""

    count: int = 0
    oldest: datetime | None = None
    until: datetime | None = None
    added: bool = False

    def full(self, rule: Rule) -> bool:
        return self.until is not None or bool(rule.limit and self.count >= rule.limit)


class CounterStore(Protocol):
    async def read(self, rules: Sequence[Rule], now: datetime) -> list[Tally]:
        """Each key's tally at ``now`` (ended holds and aged failures are let go)."""
        ...

    async def add(
        self, rules: Sequence[Rule], now: datetime, *, if_below: bool = False
    ) -> list[Tally]:
        """Count one failure on each rule's key (a key named twice counts twice) and
        hold those that reach their limit. ``if_below``: all or nothing, nothing counted
        when any key is full (held or at its limit)."""
        ...

    async def forget(self, keys: Sequence[str]) -> None:
        """Drop the keys' failures and holds (a right password, an owner's lift)."""
        ...


def _holds(rule: Rule, count: int) -> bool:
    return rule.hold > NO_HOLD and rule.limit > 0 and count >= rule.limit


def grown_hold(rule: Rule, count: int) -> timedelta:
    """The hold at ``count`` failures (``count >= rule.limit``); see ``Rule``."""
    if rule.cap is None:
        return rule.hold
    wait = rule.hold
    for _ in range(count - rule.limit):
        if wait >= rule.cap:
            break
        wait *= 2
    return min(wait, rule.cap)


@dataclass
class _Record:
    rule: Rule
    failures: deque[datetime] = field(default_factory=deque)
    until: datetime | None = None


class MemoryCounters:
    """One process's counters, bounded: at ``max_keys`` keys the idle ones go, then the
    oldest keys not held, so a flood of new keys cannot wash a lock-out away."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self.max_keys = max_keys
        self._keys: dict[str, _Record] = {}

    def __len__(self) -> int:
        return len(self._keys)

    async def read(self, rules: Sequence[Rule], now: datetime) -> list[Tally]:
        return [_tally(self._get(rule, now)) for rule in rules]

    async def add(
        self, rules: Sequence[Rule], now: datetime, *, if_below: bool = False
    ) -> list[Tally]:
        if if_below:
            before = await self.read(rules, now)
            if any(t.full(rule) for t, rule in zip(before, rules, strict=True)):
                return before
        if len(self._keys) >= self.max_keys:
            self._purge(now)
        return [self._add(rule, now) for rule in rules]

    async def forget(self, keys: Sequence[str]) -> None:
        for key in keys:
            self._keys.pop(key, None)

    def _add(self, rule: Rule, now: datetime) -> Tally:
        entry = self._get(rule, now) or self._keys.setdefault(rule.key, _Record(rule))
        entry.failures.append(now)
        count = len(entry.failures)
        if _holds(rule, count) and (rule.cap is not None or entry.until is None):
            entry.until = now + grown_hold(rule, count)
        return _tally(entry, added=True)

    def _get(self, rule: Rule, now: datetime) -> _Record | None:
        entry = self._keys.get(rule.key)
        if entry is None:
            return None
        entry.rule = rule
        if entry.until is not None and entry.until <= now:
            entry.until = None
            if rule.cap is None:
                entry.failures.clear()
        while entry.failures and entry.failures[0] <= now - rule.window:
            entry.failures.popleft()
        if entry.until is None and not entry.failures:
            del self._keys[rule.key]
            return None
        return entry

    def _purge(self, now: datetime) -> None:
        for entry in list(self._keys.values()):
            self._get(entry.rule, now)
        for key in [k for k, e in self._keys.items() if e.until is None]:
            if len(self._keys) < self.max_keys:
                return
            del self._keys[key]
        while len(self._keys) >= self.max_keys:
            del self._keys[next(iter(self._keys))]


def _tally(entry: _Record | None, *, added: bool = False) -> Tally:
    if entry is None:
        return Tally(added=added)
    oldest = entry.failures[0] if entry.failures else None
    return Tally(len(entry.failures), oldest, entry.until, added)
