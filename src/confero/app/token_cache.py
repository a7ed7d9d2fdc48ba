"""Signed-in accounts by token hash, kept per process (issue 17).

Every authenticated request resolved its token with two queries in a unit of work of its
own, which on SQLite means a handful of thread hops: half of an authenticated read's
cost. A hit here costs a dictionary lookup.

What keeps it true:
- This process's own writes forget what they change: signing out forgets the token, a
  changed account (settings, disabled, new password) forgets every token of it.
- Writes of other processes (the ``confero`` CLI, another node of a cluster) are seen
  within ``ttl`` seconds: an entry is trusted that long, then read again.
- An entry never outlives its token (``expires_at``) and the cache holds at most
  ``size`` entries, the oldest going first, so a flood of sign-ins cannot grow it.
- A read that started before a forget is not kept (``generation``): a sign-out that
  commits while another request is reading the same token must not be undone by it.
- Only tokens that resolved to an enabled account are kept: a wrong token always costs
  its query, and is never remembered.
- Counters that other code changes in SQL (``sms_used``) may be up to ``ttl`` old here:
  what shows them reads the account afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from confero.domain.accounts import Account

TTL = timedelta(seconds=60)
SIZE = 10_000


@dataclass(frozen=True, slots=True)
class _Entry:
    account: Account
    #: the earlier of the token's expiry and the time the entry must be read again
    until: datetime


class TokenCache:
    def __init__(self, ttl: timedelta = TTL, size: int = SIZE) -> None:
        assert size > 0
        self._ttl = ttl
        self._size = size
        self._entries: dict[str, _Entry] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        """Changes with every forget: take it before reading, give it to ``put``."""
        return self._generation

    def get(self, token_hash: str, now: datetime) -> Account | None:
        entry = self._entries.get(token_hash)
        if entry is None:
            return None
        if entry.until <= now:
            del self._entries[token_hash]
            return None
        return entry.account

    def put(
        self,
        token_hash: str,
        account: Account,
        expires_at: datetime,
        now: datetime,
        generation: int,
    ) -> None:
        if account.disabled or generation != self._generation:
            return
        self._entries.pop(token_hash, None)
        while len(self._entries) >= self._size:
            del self._entries[next(iter(self._entries))]  # the oldest entry
        self._entries[token_hash] = _Entry(account, min(expires_at, now + self._ttl))

    def forget(self, token_hash: str) -> None:
        self._generation += 1
        self._entries.pop(token_hash, None)

    def forget_account(self, account_id: str) -> None:
        self._generation += 1
        for key in [k for k, e in self._entries.items() if e.account.id == account_id]:
            del self._entries[key]

    def __len__(self) -> int:
        return len(self._entries)
