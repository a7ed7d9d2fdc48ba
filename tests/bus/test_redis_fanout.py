"""The people fanout over Redis pub/sub (issue 16): every other node gets each message,
in the order one node published them, and never its own; a message that is not ours
is dropped with a warning, not a crash of the listener."""

from __future__ import annotations

import asyncio

from confero.app.presence_port import Fanned
from confero.bus.redis_fanout import RedisFanout
from tests.bus.redis_support import redis_for_test


async def test_the_other_nodes_hear_in_order_and_a_node_not_itself() -> None:
    async with redis_for_test() as (client, keys):
        heard: dict[str, list[Fanned]] = {"n1": [], "n2": [], "n3": []}
        all_in = asyncio.Event()

        def on_n3(fanned: Fanned) -> None:
            heard["n3"].append(fanned)
            if len(heard["n3"]) == 51:
                all_in.set()

        nodes = {n: RedisFanout(client, keys, n) for n in heard}
        for name, fanout in nodes.items():
            await fanout.start(on_n3 if name == "n3" else heard[name].append)
        try:
            sent = [
                Fanned("push", to=("ann", "bob"), message={"type": "x", "n": i}) for i in range(50)
            ]
            for fanned in sent:
                nodes["n1"].publish(fanned)
            await client.publish(keys.of("people"), b"not json")  # a stranger's message
            nodes["n2"].publish(Fanned("sign_out", token="digest"))
            await asyncio.wait_for(all_in.wait(), 3)
            await asyncio.sleep(0.2)  # n1 and n2 hear at about the same time as n3
            pushes = [f for f in heard["n3"] if f.kind == "push"]
            assert pushes == sent, "one node's messages in the order it sent them"
            assert [f.token for f in heard["n3"] if f.kind == "sign_out"] == ["digest"]
            assert heard["n2"] == sent, "its own sign-out is not echoed back"
            assert [f.kind for f in heard["n1"]] == ["sign_out"]
        finally:
            for fanout in nodes.values():
                await fanout.close()
