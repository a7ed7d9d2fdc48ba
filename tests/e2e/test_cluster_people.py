"""Presence and 1:1 calls across real cluster nodes (issue 16 item 3, F-WB3): two
``confero serve`` processes on one PostgreSQL database and the real Redis, as an
operator runs them. Ann's people page is on node1, Bob's on node2 (a load balancer
spreads pages so). What they notice: Ann sees Bob come online; Ann calls Bob and his
page on the other node rings; he answers there and Ann's page gets the call room's
link; Bob signs out on node1 and his page on node2 is closed. The in-process two-node
tests (tests/app/test_people_across_nodes.py) cover the races; this one the wiring of
real nodes: the Redis presence store and the pub/sub fanout between processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from soak.attacks.web_client import Page, bearer
from soak.server import Server

from tests.e2e.cluster import redis_env, running_nodes
from tests.store.databases import fresh_database

ANN, BOB = "ann@people.example", "bob@people.example"
#: The people socket's close code for a signed-out session (web/people_socket.py).
NOT_SIGNED_IN = 4401


@pytest.fixture
async def nodes(tmp_path: Path) -> AsyncIterator[list[Server]]:
    def accounts(node: Server) -> None:
        node.create_owner(ANN)
        node.create_owner(BOB)

    async with (
        fresh_database("confero_people") as database,
        redis_env() as env,
        running_nodes(tmp_path, database, env, count=2, prepare=accounts) as found,
    ):
        yield found
        for node in found:
            assert node.tracebacks() == 0, node.log()


async def signed_in(node: Server, email: str) -> tuple[str, str]:
    """A session token of ``email`` and its account id."""
    token = await bearer(node, email)
    async with httpx.AsyncClient(base_url=node.base, timeout=20) as http:
        me = await http.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    me.raise_for_status()
    return token, str(me.json()["id"])


def people_url(node: Server) -> str:
    return f"ws://127.0.0.1:{node.http_port}/ws/v1/people"


async def test_a_call_rings_and_is_answered_across_real_nodes(nodes: list[Server]) -> None:
    one, two = nodes
    ann_token, _ = await signed_in(one, ANN)
    bob_token, bob_id = await signed_in(two, BOB)
    async with httpx.AsyncClient(base_url=one.base, timeout=20) as http:
        added = await http.post(
            "/api/v1/contacts",
            json={"account_id": bob_id},
            headers={"Authorization": f"Bearer {ann_token}"},
        )
    assert added.status_code == 201, added.text
    ann = Page(people_url(one), token=ann_token)
    bob = Page(people_url(two), token=bob_token)
    try:
        await ann.open()
        assert await ann.typed("welcome") is not None
        await bob.open()
        assert await bob.typed("welcome") is not None
        online = await ann.typed("presence", account_id=bob_id, presence="online")
        assert online is not None, f"Ann (node1) sees Bob (node2) online: {ann.messages}"

        await ann.send(type="call", account_id=bob_id, ref="c1")
        ringing = await bob.typed("ringing")
        assert ringing is not None, f"Bob's page on node2 rings: {bob.messages}"
        call_id = ringing["call"]["id"]
        await bob.send(type="call_accept", call_id=call_id, ref="a1")
        accepted = await ann.expect(
            lambda m: m.get("type") == "call_state" and m["call"]["state"] == "accepted"
        )
        assert accepted is not None, f"Ann hears the answer: {ann.messages}"
        assert str(accepted["call"]["join_url"]).startswith("/join/")

        # Bob signs his session out on node1: his page on node2 closes.
        async with httpx.AsyncClient(base_url=one.base, timeout=20) as http:
            out = await http.delete(
                "/api/v1/session", headers={"Cookie": f"confero_session={bob_token}"}
            )
        assert out.status_code == 204, out.text
        assert await bob.closed_code() == NOT_SIGNED_IN
    finally:
        await ann.close()
        await bob.close()
