"""Real cluster nodes for the issue 16 (F-SC2) end-to-end tests: ``confero serve``
processes (soak/server.py) on one PostgreSQL database of the test's own, optionally on
the real Redis under a key prefix of the test's own, for Kamailio's
``deploy/kamailio.cfg`` to stand in front of.

Why a module and not fixtures: the dispatch test runs its nodes without Redis (the front
needs none), the acceptance test with it and with rooms made before they start (the CLI
runs as a node and leaves the cluster when it exits, so it must run before any node
does). One helper with a ``prepare`` hook serves both.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import numpy as np
from soak.server import Server

from confero.bus.redis_connection import connect
from confero.media.tone import detect_frequency, rms
from tests.bus.redis_support import REDIS_URL, reachable
from tests.conftest import missing_peer
from tests.e2e.sipp import free_port

#: Settings every node gets: behind the front every call comes from its one address
#: (trusted: the caller's own address is read from the front's Via).
NODE_ENV = {
    "CONFERO_LOG_LEVEL": "info",
    "CONFERO_TRUSTED_PROXIES": "127.0.0.1",
    "CONFERO_SIP_MAX_CALLS_PER_SOURCE": "0",
    "CONFERO_SIP_INVITE_RATE": "0",
}


@asynccontextmanager
async def redis_env() -> AsyncIterator[dict[str, str]]:
    """The cluster settings on the test Redis under a prefix of this test's own; every
    key under it deleted afterwards (leases and counters would expire anyway)."""
    prefix = f"t-{uuid.uuid4().hex[:12]}"
    client = connect(REDIS_URL)
    try:
        if not await reachable(client):
            missing_peer(f"Redis at {REDIS_URL} (set CONFERO_TEST_REDIS_URL)")
        yield {
            "CONFERO_REDIS_URL": REDIS_URL,
            "CONFERO_REDIS_PREFIX": prefix,
            "CONFERO_CLUSTER_SECRET": f"cluster-test-{uuid.uuid4().hex}",
        }
        found = [k async for k in client.scan_iter(match=f"{prefix}:*")]
        if found:
            await client.delete(*found)
    finally:
        await client.aclose()


@asynccontextmanager
async def running_nodes(
    workdir: Path,
    database: str,
    env: dict[str, str],
    *,
    count: int = 3,
    prepare: Callable[[Server], None] | None = None,
) -> AsyncIterator[list[Server]]:
    """``count`` nodes ``node1``.. on ``database``: migrated once, ``prepare(node1)`` (CLI
    work) before any starts, node1 started alone (the first start creates the admin: two
    at once collide on it), then the rest together; stopped afterwards."""
    servers = []
    for i in range(1, count + 1):
        http_port = free_port()
        node_env = {
            **NODE_ENV,
            **env,
            "CONFERO_DATABASE_URL": database,
            "CONFERO_NODE_ID": f"node{i}",
            "CONFERO_NODE_URL": f"http://127.0.0.1:{http_port}",
        }
        servers.append(
            Server(workdir / f"node{i}", env=node_env, http_port=http_port, sip_port=free_port())
        )
    try:
        await asyncio.to_thread(servers[0].cli, "db", "upgrade")
        if prepare is not None:
            await asyncio.to_thread(prepare, servers[0])
        await asyncio.to_thread(servers[0].start)
        await asyncio.gather(*(asyncio.to_thread(s.start) for s in servers[1:]))
        yield servers
    finally:
        await asyncio.gather(*(asyncio.to_thread(s.stop) for s in servers))


def sip_address(node: Server) -> tuple[str, int]:
    return ("127.0.0.1", node.sip_port)


def hears_tone(audio: np.ndarray, frequency: float) -> bool:
    """Some second of ``audio`` (8 kHz) is a clear tone at ``frequency``."""
    for start in range(0, max(0, audio.size - 8000), 2000):
        window = audio[start : start + 8000]
        if rms(window) > 300 and abs(detect_frequency(window, 8000) - frequency) < 15:
            return True
    return False
