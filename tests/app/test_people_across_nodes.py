"""Presence and 1:1 calls across nodes (issue 16 item 3, F-WB3): two nodes (two service
stacks on one database and the real Redis, as tests/app/conftest.py builds them) with
the Redis presence store and pub/sub fanout. A person's page on one node, their
contact's on the other, their meeting on either: presence and ringing reach every page,
an answer on one node stops the other, two answers in one instant get one winner, a call
nobody answers rings out once, sign-out closes the session's pages everywhere, and the
seats of a node that died stop making anyone busy."""

from __future__ import annotations

import asyncio
import secrets
from typing import cast

import pytest

from confero.app.services import Services
from confero.bus.redis_placement import RedisPlacement
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from tests.app.conftest import LEASE
from tests.app.people_support import Inbox, eventually

PASSWORD = "correct horse battery staple"


async def page(node: Services, account: Account, token: str | None = None) -> Inbox:
    inbox = Inbox()
    inbox.page = await node.people.open_page(
        account, token or secrets.token_urlsafe(16), inbox.messages.append, inbox.closed.append
    )
    return inbox


@pytest.fixture
async def people(two_nodes: tuple[Services, Services]) -> tuple[Account, Account]:
    """Ann and Bob, contacts of each other (the accounts are in the shared database)."""
    a, _ = two_nodes
    ann = await a.accounts.create("ann@example.org", PASSWORD, "Ann")
    bob = await a.accounts.create("bob@example.org", PASSWORD, "Bob")
    await a.contacts.add(ann, bob.id)
    await a.contacts.add(bob, ann.id)
    return ann, bob


async def meeting(node: Services, account: Account, room: Room) -> str:
    pid, _ = await node.conferences.join(
        room,
        display_name=account.display_name,
        role=Role.MODERATOR,
        channel="browser",
        identity=f"account:{account.id}",
        account_id=account.id,
    )
    return pid


async def test_presence_reaches_a_contact_on_another_node(
    two_nodes: tuple[Services, Services], people: tuple[Account, Account]
) -> None:
    a, b = two_nodes
    ann, bob = people
    ann_page = await page(a, ann)
    bob_page = await page(b, bob)
    assert bob_page.messages[0]["contacts"][0]["presence"] == "online", "Ann, on node a"
    await eventually(lambda: ann_page.presence(bob.id) == "online")
    assert await a.people.presence_of([bob.id]) == {bob.id: "online"}

    room = await b.rooms.create(bob, "Bob's room")
    await meeting(b, bob, room)  # the meeting runs on node b
    await eventually(lambda: ann_page.presence(bob.id) == "busy")
    assert await a.people.presence_of([bob.id]) == {bob.id: "busy"}
    await b.conferences.end_if_running(room)
    await eventually(lambda: ann_page.presence(bob.id) == "online")
    assert bob_page.page is not None
    await b.people.close_page(bob_page.page)
    await eventually(lambda: ann_page.presence(bob.id) == "offline")


async def test_a_call_rings_on_another_node_and_the_answer_reaches_the_caller(
    two_nodes: tuple[Services, Services], people: tuple[Account, Account]
) -> None:
    a, b = two_nodes
    ann, bob = people
    ann_page = await page(a, ann)
    bob_on_a, bob_on_b = await page(a, bob), await page(b, bob)
    call = await a.people.call(ann, bob.id)
    await eventually(lambda: bool(bob_on_b.of("ringing")))
    assert bob_on_b.of("ringing")[0]["call"]["id"] == call.id
    assert bob_on_a.of("ringing"), "Bob's page on the caller's node rings too"

    accepted = await b.people.accept(bob, call.id, origin=bob_on_b.page)
    assert accepted.join_url is not None
    await eventually(lambda: ann_page.states()[-1:] == ["accepted"])
    assert ann_page.of("call_state")[-1]["call"]["join_url"] == accepted.join_url
    await eventually(lambda: bob_on_a.states()[-1:] == ["accepted"])
    with pytest.raises(DomainError) as exc:
        await a.people.decline(bob, call.id)
    assert exc.value.code == "call.over", "the other page's late answer changes nothing"


async def test_two_answers_on_two_nodes_at_once_have_one_winner(
    two_nodes: tuple[Services, Services], people: tuple[Account, Account]
) -> None:
    a, b = two_nodes
    ann, bob = people
    await page(a, ann)
    await page(a, bob), await page(b, bob)
    for _ in range(5):
        call = await a.people.call(ann, bob.id)
        answers = await asyncio.gather(
            a.people.decline(bob, call.id),
            b.people.cancel(ann, call.id),
            return_exceptions=True,
        )
        won = [r for r in answers if not isinstance(r, BaseException)]
        lost = [r for r in answers if isinstance(r, DomainError)]
        assert len(won) == 1 and len(lost) == 1, answers
        assert lost[0].code == "call.over"
        stored = await b.people._store.get_call(call.id)
        assert stored is not None and stored.state == won[0].state


async def test_a_call_nobody_answers_rings_out_once_with_two_sweepers(
    two_nodes: tuple[Services, Services], people: tuple[Account, Account]
) -> None:
    a, b = two_nodes
    ann, bob = people
    for node in two_nodes:
        node.people.ring_timeout = 0.3
    ann_page = await page(a, ann)
    await page(b, bob)
    await a.people.call(ann, bob.id)
    await eventually(lambda: "no_answer" in ann_page.states(), within=5)
    await asyncio.sleep(0.5)  # both sweepers ran again
    assert ann_page.states().count("no_answer") == 1
    missed = await b.contacts.missed(bob)
    assert len(missed) == 1, "one missed call, not one per node"


async def test_sign_out_closes_the_sessions_pages_on_every_node(
    two_nodes: tuple[Services, Services], people: tuple[Account, Account]
) -> None:
    a, b = two_nodes
    _, bob = people
    on_a, on_b = await page(a, bob, "bob-session"), await page(b, bob, "bob-session")
    other = await page(b, bob, "bob-phone-session")
    await a.people.close_token("bob-session")
    await eventually(lambda: on_b.closed == ["signed_out"])
    assert on_a.closed == ["signed_out"] and other.closed == []
    assert await a.people.presence_of([bob.id]) == {bob.id: "online"}, "one session left"


async def test_the_seats_of_a_dead_node_stop_making_anyone_busy(
    two_nodes: tuple[Services, Services], people: tuple[Account, Account]
) -> None:
    a, b = two_nodes
    _, bob = people
    room = await b.rooms.create(bob, "Bob's room")
    await meeting(b, bob, room)
    await b.bus.drain()  # the seat is stored
    assert await a.people.presence_of([bob.id]) == {bob.id: "busy"}
    await cast(RedisPlacement, b.registry.placement).stop()  # node b stops beating
    await asyncio.sleep(LEASE + 0.2)  # its registry entry lapsed; its conference runs on
    assert await a.people.presence_of([bob.id]) == {bob.id: "offline"}
