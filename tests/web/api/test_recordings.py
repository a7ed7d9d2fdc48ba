"""Recordings over REST (issue 12, Deliver 3; web/api/recordings.py): record_start /
record_stop through the one command endpoint, then list, play inline, download as an
attachment and delete (moderators), readers only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.media.engine import MediaEngine
from confero.media.recording import EngineRecorder
from tests.media.ogg import decode, longest_tone
from tests.media.test_recording import ToneLeg
from tests.phone.support import eventually
from tests.web.support import User, add_member, assert_problem, command, create_room, join


@pytest.fixture
async def engine(services: Services, settings: Settings) -> AsyncIterator[MediaEngine]:
    engine = MediaEngine()
    services.recordings.attach(EngineRecorder(engine, settings.data_dir / "recording"))
    engine.start()
    yield engine
    await services.recordings.close()
    await engine.stop()


def url(room_id: str, rec_id: str = "") -> str:
    return f"/api/v1/rooms/{room_id}/recordings" + (f"/{rec_id}" if rec_id else "")


@pytest.fixture
async def recorded(
    client: httpx.AsyncClient,
    services: Services,
    engine: MediaEngine,
    admin: User,
    other: User,
) -> dict[str, Any]:
    """A room (owner ``admin``, member ``other``) with one recording of a 440 Hz voice."""
    room = await create_room(client, admin, "Recorded")
    assert (await add_member(client, admin, room["id"], other, "participant")).status_code < 300
    pid = await join(client, admin, room["id"])
    engine.add_leg(room["id"], ToneLeg("leg"), owner=pid)
    r = await command(client, admin, room["id"], "record_start", participant_id=pid)
    assert r.status_code == 200, r.text
    state = await client.get(f"/api/v1/rooms/{room['id']}/conference", headers=admin.headers)
    assert state.json()["recording"] is True
    r = await command(client, admin, room["id"], "record_start", participant_id=pid)
    assert_problem(r, 409, "recording.already_running")
    await asyncio.sleep(1.5)
    r = await command(client, admin, room["id"], "record_stop", participant_id=pid)
    assert r.status_code == 200, r.text
    await eventually(_has_one(services, room["id"]), 5)
    engine.remove_leg(room["id"], "leg")
    return room


def _has_one(services: Services, room_id: str) -> Any:
    async def check() -> bool:
        return len(await services.recordings.list(room_id)) == 1

    return check


async def test_list_play_download_delete(
    client: httpx.AsyncClient, admin: User, other: User, recorded: dict[str, Any], tmp_path: Path
) -> None:
    listed = (await client.get(url(recorded["id"]), headers=other.headers)).json()
    assert listed["can_delete"] is False and listed["recording"] is False
    (rec,) = listed["recordings"]
    assert 1.0 < rec["seconds"] < 3.0 and rec["size"] > 1000
    assert rec["started_by"] == "Ada Admin" and rec["media_type"] == "audio/ogg"
    assert "blob" not in rec

    played = await client.get(url(recorded["id"], rec["id"]), headers=other.headers)
    assert played.status_code == 200 and len(played.content) == rec["size"]
    assert played.headers["content-type"] == "audio/ogg"
    assert played.headers["content-disposition"].startswith("inline;")
    assert played.headers["x-content-type-options"] == "nosniff"
    file = tmp_path / "got.ogg"
    file.write_bytes(played.content)
    assert longest_tone(decode(file), 440) >= 1.0

    got = await client.get(
        url(recorded["id"], rec["id"]), params={"download": "1"}, headers=other.headers
    )
    cd = got.headers["content-disposition"]
    assert cd.startswith('attachment; filename="recording-') and cd.endswith('.ogg"')
    assert got.content == played.content

    r = await client.delete(url(recorded["id"], rec["id"]), headers=other.headers)
    assert_problem(r, 403, "auth.forbidden")
    assert (await client.get(url(recorded["id"]), headers=admin.headers)).json()["can_delete"]
    r = await client.delete(url(recorded["id"], rec["id"]), headers=admin.headers)
    assert r.status_code == 204
    gone = await client.get(url(recorded["id"], rec["id"]), headers=admin.headers)
    assert_problem(gone, 404, "recording.not_found")
    r = await client.delete(url(recorded["id"], rec["id"]), headers=admin.headers)
    assert_problem(r, 404, "recording.not_found")


async def test_strangers_see_nothing(
    client: httpx.AsyncClient, third: User, recorded: dict[str, Any]
) -> None:
    rec_id = "0" * 32
    for method, path in (
        ("GET", url(recorded["id"])),
        ("GET", url(recorded["id"], rec_id)),
        ("DELETE", url(recorded["id"], rec_id)),
    ):
        assert_problem(
            await client.request(method, path, headers=third.headers), 404, "room.not_found"
        )
        assert_problem(await client.request(method, path), 401, "auth.required")
        fake = {"X-Confero-Participant": "not-a-token"}
        assert_problem(await client.request(method, path, headers=fake), 404, "room.not_found")


async def test_a_member_may_not_start_a_recording(
    client: httpx.AsyncClient, engine: MediaEngine, admin: User, other: User
) -> None:
    room = await create_room(client, admin, "Members")
    await add_member(client, admin, room["id"], other, "participant")
    await join(client, admin, room["id"])
    pid = await join(client, other, room["id"])
    r = await command(client, other, room["id"], "record_start", participant_id=pid)
    assert_problem(r, 403, "conference.moderator_only")
    r = await command(client, admin, room["id"], "record_stop")
    assert_problem(r, 409, "recording.not_running")
