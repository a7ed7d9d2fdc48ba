"""Failure counting for sign-in and PIN guessing (security by default).

At most ``limit`` failures per ``window`` per key (a source address, an account, a call);
past that every attempt is refused until old failures age out. Kept in process memory:
one server process owns its sources. (A cluster will keep the counters in Redis.)
"""

from __future__ import annotations

from collections import deque
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
