"""RecordingService over the real store, blob directory and media engine (issue 12,
Deliver 3): record_start/record_stop from the conference, a whole Ogg/Opus file in the
blob store with its row, RecordingSaved; closed when stopped, when the conference ends
and when the server stops; nothing left behind by a reset or a failed start."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confero.app.conferences import build_command
from confero.app.services import Services
from confero.config import Settings
from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.media.engine import MediaEngine
from confero.media.recording import EngineRecorder
from tests.media.ogg import decode, longest_tone
from tests.media.test_recording import ToneLeg
from tests.phone.support import eventually


@pytest.fixture
async def room(services: Services) -> Room:
    owner = await services.accounts.create("host@example.org", "long-secret", "Host")
    return await services.rooms.create(owner, "Recorded")


@pytest.fixture
async def engine(services: Services, settings: Settings) -> AsyncIterator[MediaEngine]:
    """A running media engine with the node's recorder attached, as Node.build does."""
    engine = MediaEngine()
    services.recordings.attach(EngineRecorder(engine, settings.data_dir / "recording"))
    engine.start()
    yield engine
    await services.recordings.close()
    await engine.stop()


@pytest.fixture
def blob_dir(settings: Settings) -> Path:
    return settings.data_dir / "files"


def writing(directory: Path) -> bool:
    """A recording has audio: the muxer opens its file with the first packet."""
    return any(directory.glob("*.part"))


def on_disk(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def events(services: Services) -> list[ev.Event]:
    seen: list[ev.Event] = []
    services.bus.subscribe(seen.append)
    return seen


async def in_meeting(
    services: Services, room: Room, engine: MediaEngine, name: str, role: Role
) -> str:
    pid, _ = await services.conferences.join(
        room, display_name=name, role=role, channel="api", identity=f"id:{name}"
    )
    engine.add_leg(room.id, ToneLeg(f"leg-{name}"), owner=pid)
    return pid


async def command(services: Services, room: Room, name: str, by: str | None = None) -> None:
    role = Role.MODERATOR if by is None else None
    await services.conferences.command(room, build_command(name, by=by, by_role=role))


def saved(seen: list[ev.Event]) -> list[ev.RecordingSaved]:
    return [e for e in seen if isinstance(e, ev.RecordingSaved)]


async def test_start_and_stop_store_a_playable_file_with_its_row(
    services: Services, room: Room, engine: MediaEngine, blob_dir: Path
) -> None:
    seen = events(services)
    host = await in_meeting(services, room, engine, "Host", Role.MODERATOR)
    await command(services, room, "record_start", by=host)
    assert services.conferences.snapshot(room)["recording"] is True
    await eventually(lambda: services.recordings.recording(room.id), 2)
    await asyncio.sleep(2.0)
    await command(services, room, "record_stop", by=host)
    await eventually(lambda: len(saved(seen)) == 1, 5)

    listed = await services.recordings.list(room.id)
    assert len(listed) == 1
    rec = listed[0]
    assert rec.started_by == "Host" and 1.5 < rec.seconds < 3.0
    wire = saved(seen)[0].recording
    assert wire["id"] == rec.id and wire["size"] == rec.size and "blob" not in wire
    assert on_disk(blob_dir) == [rec.blob]
    path = services.recordings.path(rec)
    assert path.stat().st_size == rec.size
    assert longest_tone(decode(path), 440) >= 1.0
    assert not list((blob_dir.parent / "recording").glob("*")), "no working file left"


async def test_a_participant_may_not_record(
    services: Services, room: Room, engine: MediaEngine
) -> None:
    await in_meeting(services, room, engine, "Host", Role.MODERATOR)
    guest = await in_meeting(services, room, engine, "Guest", Role.PARTICIPANT)
    with pytest.raises(DomainError) as err:
        await command(services, room, "record_start", by=guest)
    assert err.value.code == "conference.moderator_only"
    assert not services.recordings.recording(room.id)


async def test_no_conference_nothing_to_record(services: Services, room: Room) -> None:
    with pytest.raises(DomainError) as err:
        await command(services, room, "record_start")
    assert err.value.code == "conference.not_running"


async def test_the_end_of_the_conference_closes_and_stores_it(
    services: Services, room: Room, engine: MediaEngine, blob_dir: Path
) -> None:
    seen = events(services)
    host = await in_meeting(services, room, engine, "Host", Role.MODERATOR)
    await command(services, room, "record_start")
    await asyncio.sleep(1.0)
    await command(services, room, "end_for_all", by=host)
    await eventually(lambda: len(saved(seen)) == 1, 5)
    (rec,) = await services.recordings.list(room.id)
    assert rec.started_by is None  # started over the API, by no participant
    assert longest_tone(decode(services.recordings.path(rec)), 440) >= 0.5
    engine.remove_leg(room.id, "leg-Host")


async def test_server_stop_closes_and_stores_it(
    services: Services, room: Room, engine: MediaEngine, blob_dir: Path
) -> None:
    await in_meeting(services, room, engine, "Host", Role.MODERATOR)
    await command(services, room, "record_start")
    await asyncio.sleep(1.0)
    await services.recordings.close()  # what Node.stop and Services.close do first
    (rec,) = await services.recordings.list(room.id)
    assert on_disk(blob_dir) == [rec.blob]
    assert longest_tone(decode(services.recordings.path(rec)), 440) >= 0.5


async def test_without_a_recorder_the_conference_takes_it_back(
    services: Services, room: Room
) -> None:
    seen = events(services)
    pid, _ = await services.conferences.join(
        room, display_name="Host", role=Role.MODERATOR, channel="api", identity="id:host"
    )
    await command(services, room, "record_start", by=pid)
    await eventually(lambda: services.conferences.snapshot(room)["recording"] is False, 3)
    changes = [e.recording for e in seen if isinstance(e, ev.RecordingChanged)]
    assert changes == [True, False]


async def test_a_reset_while_recording_leaves_nothing(
    services: Services, room: Room, engine: MediaEngine, blob_dir: Path, settings: Settings
) -> None:
    host = await in_meeting(services, room, engine, "Host", Role.MODERATOR)
    await command(services, room, "record_start", by=host)
    await asyncio.sleep(0.5)
    await services.conferences.command(
        room, build_command("reset", by=host, by_role=None, confirm=True)
    )
    await eventually(lambda: not services.recordings.recording(room.id), 3)
    await asyncio.sleep(0.3)
    await services.bus.drain()
    assert await services.recordings.list(room.id) == []
    assert on_disk(blob_dir) == []
    assert on_disk(settings.data_dir / "recording") == []


async def test_moderators_delete_row_and_file(
    services: Services, room: Room, engine: MediaEngine, blob_dir: Path
) -> None:
    seen = events(services)
    host = await in_meeting(services, room, engine, "Host", Role.MODERATOR)
    await command(services, room, "record_start", by=host)
    await asyncio.sleep(0.5)
    await command(services, room, "record_stop", by=host)
    await eventually(lambda: len(saved(seen)) == 1, 5)
    (rec,) = await services.recordings.list(room.id)

    with pytest.raises(DomainError) as err:
        await services.recordings.delete(room.id, rec.id, moderator=False)
    assert err.value.code == "auth.forbidden"
    with pytest.raises(DomainError) as err:
        await services.recordings.delete("other-room", rec.id, moderator=True)
    assert err.value.code == "recording.not_found"
    assert on_disk(blob_dir) == [rec.blob]

    await services.recordings.delete(room.id, rec.id, moderator=True)
    assert await services.recordings.list(room.id) == []
    assert on_disk(blob_dir) == []
    with pytest.raises(DomainError) as err:
        await services.recordings.get(room.id, rec.id)
    assert err.value.code == "recording.not_found"


async def test_a_second_recording_after_the_first(
    services: Services, room: Room, engine: MediaEngine, settings: Settings
) -> None:
    seen = events(services)
    host = await in_meeting(services, room, engine, "Host", Role.MODERATOR)
    for _ in range(2):
        await command(services, room, "record_start", by=host)
        await eventually(lambda: writing(settings.data_dir / "recording"), 5)
        await command(services, room, "record_stop", by=host)
        await eventually(lambda: not writing(settings.data_dir / "recording"), 5)
    await eventually(lambda: len(saved(seen)) == 2, 5)
    assert len(await services.recordings.list(room.id)) == 2
