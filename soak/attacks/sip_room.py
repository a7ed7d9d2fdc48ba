"""A room on a server of its own for one SIP attack, seen by its owner: ``make_server``
(default settings unless ``env`` says otherwise; killed if it never answers), the
owner's REST view (who is in, whether the PIN lock-out is on, lifting it) and ``enter``:
a caller dials the room's number, types PIN## and is "in" once the owner sees one
participant more."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from soak.attacks.sip_client import Call
from soak.server import PASSWORD, Room, Server

OWNER = "owner@soak.example"
ACCESS_NUMBER = "5000"


class Owner:
    """The room owner's REST session (sign in, room view, lift the PIN lock-out)."""

    def __init__(self, server: Server) -> None:
        self.http = httpx.AsyncClient(base_url=server.base, timeout=20)

    async def sign_in(self) -> None:
        r = await self.http.post("/api/v1/session", json={"email": OWNER, "password": PASSWORD})
        r.raise_for_status()

    async def room(self, room: Room) -> dict[str, Any]:
        r = await self.http.get(f"/api/v1/rooms/{room.id}")
        r.raise_for_status()
        result: dict[str, Any] = r.json()
        return result

    async def people(self, room: Room) -> int:
        meeting = (await self.room(room)).get("meeting") or {}
        return len(meeting.get("participants", []))

    async def locked(self, room: Room) -> bool:
        return (await self.room(room)).get("pin_locked_until") is not None

    async def close(self) -> None:
        await self.http.aclose()


def make_server(workdir: Path, name: str, env: dict[str, str] | None = None) -> tuple[Server, Room]:
    server = Server(workdir / name, env=dict(env or {}))
    server.data_dir.mkdir(parents=True, exist_ok=True)
    server.create_owner(OWNER)
    room = server.create_room(OWNER, f"soak {name}", 30)
    try:
        server.start(timeout=90)
    except BaseException:
        server.kill()  # a server that never answered is not left behind
        raise
    return server, room


def open_fds(server: Server) -> int:
    if server.process is None:
        return 0
    try:
        return len(os.listdir(f"/proc/{server.process.pid}/fd"))
    except FileNotFoundError:
        return 0


def wrong_pins(room: Room, n: int) -> list[str]:
    out: list[str] = []
    k = 1
    while len(out) < n:
        pin = f"{(int(room.pin) + 7919 * k) % 10 ** len(room.pin):0{len(room.pin)}d}"
        if pin not in (room.pin, room.admin_pin):
            out.append(pin)
        k += 1
    return out


async def enter(
    server: Server,
    room: Room,
    owner: Owner,
    host: str,
    caller: str,
    number: str | None = None,
    wait: float = 20.0,
) -> tuple[str, Call]:
    """A caller dials the room's own number and types PIN## (PIN, then # to skip the
    name); "in" once the owner's view lists one participant more, else what happened."""
    before = await owner.people(room)
    call = await Call(host, ("127.0.0.1", server.sip_port), number or room.number, caller).open()
    answer = await call.invite()
    if answer is None or answer.status != 200:
        return (
            f"{answer.status} {answer.first.split(' ', 2)[-1]}" if answer else "no answer"
        ), call
    call.ack()
    await call.prompt_after(time.monotonic(), 5)
    await call.keys(room.pin + "##")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if await owner.people(room) > before:
            return "in", call
        if call.bye_from_server() is not None:
            return "hung up by server", call
        await asyncio.sleep(0.3)
    return "not in the room", call


async def in_thread(fn: Callable[[], Any]) -> Any:
    return await asyncio.to_thread(fn)
