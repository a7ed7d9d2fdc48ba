"""Accounts (confero/app/accounts.py): what a sign-in costs everyone else."""

from __future__ import annotations

import asyncio

import pytest

from confero.app.services import Services
from confero.domain.errors import DomainError


async def _longest_gap(work: asyncio.Future[object], tick: float = 0.002) -> float:
    """The longest the event loop went without running a 2 ms ticker while ``work``
    ran: what a media tick sharing the loop would have waited."""
    loop = asyncio.get_running_loop()
    longest, last = 0.0, loop.time()
    while not work.done():
        await asyncio.sleep(tick)
        now = loop.time()
        longest, last = max(longest, now - last - tick), now
    return longest


async def test_sign_in_does_not_stop_the_event_loop(services: Services) -> None:
    """scrypt is slow on purpose; on the loop, each sign-in (and each try of a
    password guesser) stopped the audio of every meeting for its duration."""
    await services.accounts.create("host@example.org", "long-secret", "Host")
    loop = asyncio.get_running_loop()
    started = loop.time()
    right = asyncio.ensure_future(
        services.accounts.authenticate("host@example.org", "long-secret", "192.0.2.1")
    )
    gap = await _longest_gap(right)
    took = loop.time() - started
    assert (await right).email == "host@example.org"
    wrong = asyncio.ensure_future(
        services.accounts.authenticate("host@example.org", "wrong-secret", "192.0.2.1")
    )
    gap = max(gap, await _longest_gap(wrong))
    with pytest.raises(DomainError):
        await wrong
    assert gap < max(took / 2, 0.004), (
        f"the loop stood still {gap * 1000:.1f} ms of {took * 1000:.1f}"
    )
