"""The blob directory: generated names, the size limit leaves nothing, leftovers swept."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from confero.domain.errors import DomainError
from confero.store.blobs import DirectoryBlobs


def listing(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


async def stream(*chunks: bytes) -> AsyncIterator[bytes]:
    for c in chunks:
        yield c


async def test_a_blob_comes_back_byte_for_byte(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path / "files")
    data = os.urandom(300_000)
    key, size = await blobs.write(stream(data[:1000], data[1000:]), max_bytes=1_000_000)
    assert size == len(data)
    assert blobs.path(key).read_bytes() == data
    assert listing(tmp_path / "files") == [key]


async def test_over_the_limit_leaves_nothing(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path)
    with pytest.raises(DomainError) as refused:
        await blobs.write(stream(b"x" * 600_000, b"x" * 600_000), max_bytes=1024 * 1024)
    assert refused.value.code == "file.too_large" and refused.value.context["max_mb"] == 1
    assert listing(tmp_path) == []


async def test_a_broken_stream_leaves_nothing(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield b"abc"
        raise ConnectionResetError

    blobs = DirectoryBlobs(tmp_path)
    with pytest.raises(ConnectionResetError):
        await blobs.write(broken(), max_bytes=100)
    assert listing(tmp_path) == []


@pytest.mark.parametrize("key", ["../../etc/passwd", "a\x00b", "ABC", "", "0" * 31])
def test_only_keys_the_store_made_name_a_file(tmp_path: Path, key: str) -> None:
    with pytest.raises(ValueError):
        DirectoryBlobs(tmp_path).path(key)


async def test_delete_and_sweep(tmp_path: Path) -> None:
    blobs = DirectoryBlobs(tmp_path)
    key, _ = await blobs.write(stream(b"data"), max_bytes=10)
    (tmp_path / "deadbeef.part").write_bytes(b"half")
    assert blobs.sweep() == 1
    await blobs.delete([key, key])
    assert listing(tmp_path) == []


async def test_a_finished_recording_moves_in(tmp_path: Path) -> None:
    source = tmp_path / "rec.ogg"
    source.write_bytes(b"OggS")
    blobs = DirectoryBlobs(tmp_path / "files")
    key, size = await blobs.write_file(source)
    assert size == 4 and not source.exists() and blobs.path(key).read_bytes() == b"OggS"
