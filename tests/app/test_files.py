"""FileService over the real store and blob directory (issue 12, Deliver 2): a row and
its bytes together or neither; name, type and size checked before a byte is read; the
uploader and moderators delete; FileShared / FileDeleted published."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confero.app.files import MB, FileService, Uploader, parse_types
from confero.app.services import Services
from confero.config import Settings
from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.rooms import Room
from confero.store.blobs import DirectoryBlobs


@pytest.fixture
async def room(services: Services) -> Room:
    owner = await services.accounts.create("host@example.org", "long-secret", "Host")
    return await services.rooms.create(owner, "Files")


@pytest.fixture
def blob_dir(settings: Settings) -> Path:
    return settings.data_dir / "files"


def on_disk(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


class Stream:
    """An upload body; remembers whether anyone read it."""

    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for c in self.chunks:
            self.read += 1
            await asyncio.sleep(0)
            yield c


def events(services: Services) -> list[ev.Event]:
    seen: list[ev.Event] = []
    services.bus.subscribe(seen.append)
    return seen


ANN = Uploader("acc-ann", "Ann")
BOB = Uploader("participant:p-bob", "Bob")
MOD = Uploader("participant:p-mod", "Mo", moderator=True)


async def test_upload_stores_bytes_and_row_and_tells_the_room(
    services: Services, room: Room, blob_dir: Path
) -> None:
    seen = events(services)
    data = [b"%PDF-1.7\n", bytes(range(256)) * 100, b"\x00end"]
    f = await services.files.upload(room.id, "Plan ü.pdf", Stream(*data).__aiter__(), ANN)
    assert (f.name, f.media_type, f.size) == ("Plan ü.pdf", "application/pdf", 25_613)
    assert (f.uploader_id, f.uploader_name) == ("acc-ann", "Ann")
    assert on_disk(blob_dir) == [f.blob] and f.blob != f.name
    got, path = await services.files.get(room.id, f.id)
    assert got == f and path.read_bytes() == b"".join(data)
    assert await services.files.list(room.id) == [f]
    await asyncio.sleep(0.05)
    shared = [e for e in seen if isinstance(e, ev.FileShared)]
    assert len(shared) == 1 and shared[0].room_id == room.id
    assert shared[0].file["name"] == "Plan ü.pdf" and "blob" not in shared[0].file


async def test_over_the_limit_while_reading_leaves_nothing(
    services: Services, room: Room, blob_dir: Path
) -> None:
    files = FileService(
        services.uow, services.bus, services.clock, DirectoryBlobs(blob_dir), max_upload_mb=1
    )
    body = Stream(b"x" * (MB // 2), b"x" * (MB // 2), b"x")
    with pytest.raises(DomainError) as err:
        await files.upload(room.id, "big.zip", body.__aiter__(), ANN)
    assert err.value.code == "file.too_large" and err.value.context["max_mb"] == 1
    assert on_disk(blob_dir) == [] and await files.list(room.id) == []
    # exactly the limit is fine
    ok = await files.upload(room.id, "ok.zip", Stream(b"y" * MB).__aiter__(), ANN)
    assert ok.size == MB


async def test_refused_before_a_byte_is_read(
    services: Services, room: Room, blob_dir: Path
) -> None:
    for name, declared, code in (
        ("page.html", None, "file.type_refused"),
        ("script.svg", None, "file.type_refused"),
        ("../../etc/passwd", None, "file.type_refused"),
        ("noext", None, "file.type_refused"),
        ("\x00\x01", None, "file.invalid_name"),
        ("../..", None, "file.invalid_name"),
        ("big.pdf", 50 * MB + 1, "file.too_large"),
    ):
        body = Stream(b"<html>")
        with pytest.raises(DomainError) as err:
            await services.files.upload(
                room.id, name, body.__aiter__(), ANN, declared_size=declared
            )
        assert err.value.code == code, name
        assert body.read == 0, name
    assert on_disk(blob_dir) == [] and await services.files.list(room.id) == []


async def test_path_and_nul_names_are_only_names(
    services: Services, room: Room, blob_dir: Path
) -> None:
    a = await services.files.upload(room.id, "../../etc/passwd.txt", Stream(b"a").__aiter__(), ANN)
    b = await services.files.upload(room.id, "re\x00port\n.pdf", Stream(b"b").__aiter__(), ANN)
    c = await services.files.upload(
        room.id, "C:\\Users\\x\\notes.md", Stream(b"c").__aiter__(), BOB
    )
    assert (a.name, b.name, c.name) == ("passwd.txt", "report.pdf", "notes.md")
    assert a.media_type == "text/plain; charset=utf-8"
    assert sorted(on_disk(blob_dir)) == sorted([a.blob, b.blob, c.blob])
    assert all(len(k) == 32 for k in on_disk(blob_dir))


async def test_the_row_failing_takes_the_blob_with_it(services: Services, blob_dir: Path) -> None:
    with pytest.raises(Exception):  # noqa: B017 (the database's foreign key error)
        await services.files.upload("no-such-room", "a.pdf", Stream(b"a").__aiter__(), ANN)
    assert on_disk(blob_dir) == []


async def test_uploader_and_moderators_delete_others_do_not(
    services: Services, room: Room, blob_dir: Path
) -> None:
    seen = events(services)
    mine = await services.files.upload(room.id, "a.pdf", Stream(b"a").__aiter__(), BOB)
    other = await services.files.upload(room.id, "b.pdf", Stream(b"b").__aiter__(), BOB)
    with pytest.raises(DomainError) as err:
        await services.files.delete(room.id, mine.id, ANN)
    assert err.value.code == "auth.forbidden"
    await services.files.delete(room.id, mine.id, BOB)
    await services.files.delete(room.id, other.id, MOD)
    assert on_disk(blob_dir) == [] and await services.files.list(room.id) == []
    with pytest.raises(DomainError) as err:
        await services.files.delete(room.id, mine.id, MOD)
    assert err.value.code == "file.not_found"
    with pytest.raises(DomainError) as err:
        await services.files.get(room.id, mine.id)
    assert err.value.code == "file.not_found"
    await asyncio.sleep(0.05)
    deleted = [e for e in seen if isinstance(e, ev.FileDeleted)]
    assert [(e.file_name, e.by) for e in deleted] == [("a.pdf", "Bob"), ("b.pdf", "Mo")]


async def test_a_file_of_another_room_is_not_found(services: Services, room: Room) -> None:
    owner = await services.accounts.by_email("host@example.org")
    assert owner is not None
    elsewhere = await services.rooms.create(owner, "Elsewhere")
    f = await services.files.upload(room.id, "a.pdf", Stream(b"a").__aiter__(), ANN)
    for call in (
        services.files.get(elsewhere.id, f.id),
        services.files.delete(elsewhere.id, f.id, MOD),
    ):
        with pytest.raises(DomainError) as err:
            await call
        assert err.value.code == "file.not_found"
    assert (await services.files.get(room.id, f.id))[0] == f


def test_upload_types_setting() -> None:
    assert parse_types("") == parse_types(" , ")
    assert "pdf" in parse_types("") and "html" not in parse_types("")
    assert parse_types("PDF, .png;txt") == ("pdf", "png", "txt")


async def test_only_the_configured_types(services: Services, room: Room, blob_dir: Path) -> None:
    files = FileService(
        services.uow, services.bus, services.clock, DirectoryBlobs(blob_dir), upload_types="png"
    )
    with pytest.raises(DomainError) as err:
        await files.upload(room.id, "a.pdf", Stream(b"a").__aiter__(), ANN)
    assert err.value.code == "file.type_refused" and err.value.context["allowed"] == "png"
    # a type the server does not know stays refused even when listed
    odd = FileService(
        services.uow, services.bus, services.clock, DirectoryBlobs(blob_dir), upload_types="html"
    )
    with pytest.raises(DomainError):
        await odd.upload(room.id, "a.html", Stream(b"a").__aiter__(), ANN)
    assert on_disk(blob_dir) == []


async def test_start_sweeps_unfinished_uploads(settings: Settings) -> None:
    from confero.server import build

    root = settings.data_dir / "files"
    root.mkdir(parents=True)
    (root / ("a" * 32 + ".part")).write_bytes(b"half")
    svc = await build(settings)
    try:
        assert on_disk(root) == []
        assert svc.files.max_bytes == settings.max_upload_mb * MB
    finally:
        await svc.close()
