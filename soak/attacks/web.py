"""Issue 14's HTTP and WebSocket rows, rerun against a real ``confero serve`` each.

Design: every attack is plain traffic from this process to a server subprocess
(``soak.server.Server``): raw asyncio TCP for the oversized bodies and the half-sent
requests, httpx for REST, the ``websockets`` client for room pages, each bound to a
loopback source address of its choosing (web_client.py). Attacks that could disturb each
other's figures get a server of their own; the cheap, stateless ones (oversized
``before``, framing headers) share the body-size server. Severities are derived from the
figures against the defence issue 14 promised (413 before parsing, socket caps, chat
limits per sender and for the guests per room, members never shut out, header timeout,
sign-in back-off, no leaks); an attack that could not be run is reported as such
("medium": not shown to hold).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

from soak.attacks.web_bodies import oversized_bodies
from soak.attacks.web_client import served
from soak.attacks.web_leaks import leaks
from soak.attacks.web_lobby import lobby_campers
from soak.attacks.web_requests import framing, overflow_before
from soak.attacks.web_signin import signin_attack
from soak.attacks.web_slow import slowloris
from soak.attacks.web_sockets import socket_flood
from soak.findings import Finding
from soak.server import Server

Attack = Callable[[Server], Awaitable[list[Finding]]]


async def bodies_etc(server: Server) -> list[Finding]:
    return [await oversized_bodies(server), await overflow_before(server), await framing(server)]


async def sockets(server: Server) -> list[Finding]:
    return [await socket_flood(server)]


async def lobby(server: Server) -> list[Finding]:
    return [await lobby_campers(server)]


async def signin(server: Server) -> list[Finding]:
    return [await signin_attack(server)]


async def slow(server: Server) -> list[Finding]:
    return [await slowloris(server)]


ATTACKS: list[tuple[str, Attack]] = [
    ("bodies", bodies_etc),
    ("sockets", sockets),
    ("lobby", lobby),
    ("signin", signin),
    ("slowloris", slow),
    ("leaks", leaks),
]


def started(workdir: Path, name: str, tries: int = 3) -> Server:
    """A fresh server for one attack. Others may run beside us on this machine: a port
    taken between its choice and the bind is a retry on new ports, not a finding."""
    for attempt in range(1, tries + 1):
        server = served(workdir, name if attempt == 1 else f"{name}-{attempt}")
        try:
            server.start()
            return server
        except RuntimeError:
            server.stop()
            if attempt == tries:
                raise
    raise AssertionError("unreachable")


async def attack(workdir: Path, name: str, make: Attack) -> list[Finding]:
    """One attack on a server of its own, stopped whatever happens; a broken run is a
    finding, not silence."""
    server: Server | None = None
    try:
        server = started(workdir, name)
        return await make(server)
    except Exception as exc:
        return [Finding(name, "(see issue 14)", f"the rerun failed: {exc!r}"[:400], "medium")]
    finally:
        if server is not None:
            server.stop()


async def _run(workdir: Path) -> list[Finding]:
    out: list[Finding] = []
    for name, make in ATTACKS:
        out += await attack(workdir, name, make)
    return out


def run(workdir: Path) -> list[Finding]:
    """Rerun the HTTP and WebSocket rows of issue 14's table; one server per attack."""
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(workdir))
