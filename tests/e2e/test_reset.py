"""Reset wipes everything a room accumulated (F-EN4, seed 000; issue 12 Deliver 5): its
chat, boards, files, recordings and activity, rows in the database and bytes on disk,
in one operation; another room's content stays, and the log keeps only the reset."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from playwright.async_api import expect
from sqlalchemy import func, select

from confero.app.files import Uploader
from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.store.models import (
    ActivityRow,
    BoardItemRow,
    BoardRow,
    ChatRow,
    RecordingRow,
    RoomFileRow,
)
from tests.e2e.chromium import Launch
from tests.e2e.test_browser_meeting import enter, host_page
from tests.phone.support import eventually
from tests.webrtc.support import Served

TABLES = (BoardRow, RoomFileRow, RecordingRow, ChatRow, ActivityRow)


async def chunks(data: bytes) -> AsyncIterator[bytes]:
    yield data


async def fill(services: Services, room: Room, settings: Settings) -> None:
    """A board with a stroke, a shared file, a stored recording and a chat message."""
    board = await services.boards.create(room.id, "Plan", by="host")
    stroke = {"id": "s1", "shape": "pen", "points": [[0, 0], [40, 30]], "color": "#112233"}
    await services.boards.apply(room.id, board["id"], {"kind": "add", "item": stroke}, by="h")
    await services.files.upload(room.id, "notes.txt", chunks(b"kept?"), Uploader("h", "Host"))
    source = settings.data_dir / f"{room.id}.ogg"
    source.write_bytes(b"OggS recorded")
    key, size = await services.files.blobs.write_file(source)
    async with services.uow() as u:
        s = u.content._s  # type: ignore[attr-defined]  # a row as the recorder leaves it
        await s.execute(
            RecordingRow.__table__.insert().values(
                id=f"rec{room.id[:8]}",
                room_id=room.id,
                started_at=services.clock.now(),
                seconds=1.0,
                size=size,
                blob=key,
                started_by="Host",
            )
        )
        await u.commit()
    await services.rooms.post_chat(room, "Host", "see the board", None)


async def rows(services: Services, room: Room) -> dict[str, int]:
    async with services.uow() as u:
        s = u.content._s  # type: ignore[attr-defined]
        out = {
            t.__tablename__: await s.scalar(
                select(func.count()).select_from(t).where(t.room_id == room.id)
            )
            for t in TABLES
        }
        boards = select(BoardRow.id).where(BoardRow.room_id == room.id)
        out["board_items"] = await s.scalar(
            select(func.count()).select_from(BoardItemRow).where(BoardItemRow.board_id.in_(boards))
        )
        return out


async def blob_keys(services: Services, room: Room) -> set[str]:
    async with services.uow() as u:
        s = u.content._s  # type: ignore[attr-defined]
        keys = set(await s.scalars(select(RoomFileRow.blob).where(RoomFileRow.room_id == room.id)))
        keys |= set(
            await s.scalars(select(RecordingRow.blob).where(RecordingRow.room_id == room.id))
        )
        return keys


def on_disk(directory: Path) -> set[str]:
    return {p.name for p in directory.iterdir()} if directory.exists() else set()


async def test_reset_leaves_no_row_and_no_file_of_the_room(
    served: Served, room: Room, chromium: Launch, settings: Settings
) -> None:
    services = served.services
    owner = await services.accounts.get(room.owner_id)
    assert owner is not None
    other = await services.rooms.create(owner, "Other room")
    await fill(services, room, settings)
    await fill(services, other, settings)
    files_dir = settings.data_dir / "files"
    mine, theirs = await blob_keys(services, room), await blob_keys(services, other)
    assert len(mine) == 2 and mine | theirs <= on_disk(files_dir)

    host = await host_page(chromium, served, room)
    await enter(host)
    await expect(host.locator("#chat-messages .chat-message")).to_have_count(1)
    await host.click("#settings")
    await host.click("#reset-room")
    await host.click("#confirm-ok")
    await host.wait_for_selector("#ended", state="visible")

    async def wiped() -> bool:
        counts = await rows(services, room)
        log = await services.rooms.list_activity(room.id)
        only_reset = [a.kind for a in log] == ["room_reset"]
        return only_reset and all(v == 0 for k, v in counts.items() if k != "activity_log")

    await eventually(wiped, 10)
    assert not (mine & on_disk(files_dir)), "no byte of the room's files or recordings"
    assert theirs <= on_disk(files_dir), "the other room's bytes stay"
    kept = await rows(services, other)
    assert kept["boards"] == kept["board_items"] == kept["room_files"] == 1
    assert kept["recordings"] == kept["chat_messages"] == 1
