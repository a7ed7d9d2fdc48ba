"""The token cache (confero/app/token_cache.py): what it may remember, and for how long."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from confero.app.token_cache import TokenCache
from confero.domain.accounts import Account

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(days=14)


def account(n: int = 1, *, disabled: bool = False) -> Account:
    return Account(
        id=f"a{n}",
        email=f"host{n}@example.org",
        display_name=f"Host {n}",
        password_hash="x",
        created_at=NOW,
        disabled=disabled,
    )


def test_an_entry_is_trusted_for_the_ttl_then_read_again() -> None:
    cache = TokenCache(ttl=timedelta(seconds=60))
    cache.put("h1", account(), LATER, NOW, cache.generation)
    assert cache.get("h1", NOW + timedelta(seconds=59)) == account()
    assert cache.get("h1", NOW + timedelta(seconds=60)) is None
    assert len(cache) == 0


def test_an_entry_never_outlives_its_token() -> None:
    cache = TokenCache(ttl=timedelta(seconds=60))
    cache.put("h1", account(), NOW + timedelta(seconds=5), NOW, cache.generation)
    assert cache.get("h1", NOW + timedelta(seconds=5)) is None


def test_a_full_cache_lets_the_oldest_go() -> None:
    cache = TokenCache(size=2)
    for n in (1, 2, 3):
        cache.put(f"h{n}", account(n), LATER, NOW, cache.generation)
    assert cache.get("h1", NOW) is None
    assert cache.get("h2", NOW) == account(2)
    assert cache.get("h3", NOW) == account(3)
    assert len(cache) == 2


def test_a_disabled_account_is_not_kept() -> None:
    cache = TokenCache()
    cache.put("h1", account(disabled=True), LATER, NOW, cache.generation)
    assert cache.get("h1", NOW) is None


def test_forgetting_an_account_forgets_all_its_tokens_and_no_other() -> None:
    cache = TokenCache()
    cache.put("phone", account(1), LATER, NOW, cache.generation)
    cache.put("laptop", account(1), LATER, NOW, cache.generation)
    cache.put("other", account(2), LATER, NOW, cache.generation)
    cache.forget_account("a1")
    assert cache.get("phone", NOW) is None
    assert cache.get("laptop", NOW) is None
    assert cache.get("other", NOW) == account(2)


def test_a_read_that_began_before_a_sign_out_is_not_kept() -> None:
    """The request read the token, the sign-out committed and forgot it, then the
    request came back to store what it read: that would bring the token back."""
    cache = TokenCache()
    seen = cache.generation
    cache.forget("h1")  # the sign-out
    cache.put("h1", account(), LATER, NOW, seen)
    assert cache.get("h1", NOW) is None
