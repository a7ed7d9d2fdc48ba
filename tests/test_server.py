"""`confero serve` as a user starts it: a real process, real HTTP, first-start admin."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str], Path]]:
    port = _free_port()
    env = {
        **os.environ,
        "CONFERO_DATA_DIR": str(tmp_path / "var"),
        "CONFERO_HTTP_PORT": str(port),
        "CONFERO_SIP_PORT": "0",
        "CONFERO_DATABASE_URL": "",
    }
    log = tmp_path / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "confero.cli", "serve"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
            assert proc.poll() is None, log.read_text()
        else:
            pytest.fail("server did not answer: " + log.read_text())
        yield base, proc, log
    finally:
        proc.terminate()
        proc.wait(timeout=15)


def test_first_start_prints_admin_and_serves_api(
    server: tuple[str, subprocess.Popen[str], Path],
) -> None:
    base, _proc, log = server
    output = log.read_text()
    assert f"open {base}/" in output
    match = re.search(r"password:\s+(\S+)", output)
    assert match, output
    password = match.group(1)

    assert httpx.get(f"{base}/docs").status_code == 200
    assert httpx.get(f"{base}/openapi.json").json()["info"]["title"] == "Confero"

    with httpx.Client(base_url=base) as web:
        signed_in = web.post(
            "/api/v1/session", json={"email": "admin@confero.local", "password": password}
        )
        assert signed_in.status_code == 200, signed_in.text
        rooms = web.get("/api/v1/rooms").json()
        assert [r["name"] for r in rooms] == ["Demo room"]
        assert rooms[0]["pin"] != rooms[0]["admin_pin"]

    # The demo room's invite link is printed with its conference number, and it opens the
    # room page at once (the server runs with its default address, on our test port).
    number = re.search(r"conference number (\d+)", output)
    link = re.search(r"invite link:\s+(\S+)", output)
    assert number and link, output
    assert number.group(1) == rooms[0]["conference_number"]
    assert link.group(1) == rooms[0]["invite_url"]
    page = httpx.get(link.group(1))
    assert page.status_code == 200
    assert "Demo room" in page.text


def test_server_stops_cleanly_and_keeps_data(
    server: tuple[str, subprocess.Popen[str], Path], tmp_path: Path
) -> None:
    _base, proc, log = server
    proc.terminate()
    # uvicorn shuts down gracefully, then re-raises SIGTERM so supervisors see it
    assert proc.wait(timeout=15) in (0, -15)
    output = log.read_text()
    assert "Finished server process" in output
    assert "Traceback" not in output
    assert (tmp_path / "var" / "confero.db").exists()


async def test_without_the_phone_stack_a_call_request_is_refused_at_once(
    tmp_path: Path,
) -> None:
    """SIP switched off: "call a phone number" is told "unavailable" instead of ringing
    forever (the page would stay on "Calling…")."""
    from confero.app.conferences import build_command
    from confero.config import Settings
    from confero.domain import events as ev
    from confero.domain.roles import Role
    from confero.server import Node, build

    settings = Settings(data_dir=tmp_path / "var", sip_enabled=False)
    services = await build(settings)
    node = Node.build(services, settings)
    await node.start()
    told: list[ev.InviteFailed] = []

    async def listen(event: ev.Event) -> None:
        if isinstance(event, ev.InviteFailed):
            told.append(event)

    services.bus.subscribe(listen)
    try:
        host = await services.accounts.create("host@example.org", "long-secret", "Host")
        room = await services.rooms.create(host, "Board")
        pid, _ = await services.conferences.join(
            room, display_name="Host", role=Role.MODERATOR, channel="api", identity="h"
        )
        invite = build_command("invite", by=pid, by_role=None, number="0612")
        await services.conferences.command(room, invite)
        for _ in range(100):
            if told:
                break
            await asyncio.sleep(0.02)
        assert [(e.number, e.reason, e.audience) for e in told] == [
            ("0612", "unavailable", frozenset({pid}))
        ]
    finally:
        await node.stop()
        await services.close()


def test_the_start_up_heap_is_kept_out_of_full_collections() -> None:
    """Issue 14's soak: full garbage collections over the start-up heap stalled the media
    tick by 20-160 ms; after start-up the heap is frozen (``gc.freeze``)."""
    import gc

    from confero.heap import settle_heap

    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        settle_heap()
        assert gc.get_freeze_count() > 1000, "the imported modules' objects at least"
    finally:
        gc.unfreeze()
