"""Where a room's files and recordings live on disk (issue 12, Deliver 2 and 3).

One directory under the data directory; every blob gets a name made here (random hex),
never the name a user gave, so no upload can choose a path (``../../etc/passwd``, NUL
bytes, a name the file system refuses). The database row keeps the user's name for
display and the ``Content-Disposition`` header.

Uploads stream to ``<key>.part`` and are renamed when complete: a stopped upload, one over
the size limit or a crash leaves no blob that looks whole, and ``sweep`` removes the
leftovers at start-up. Disk writes run in a thread so a slow disk never stalls the event
loop (and with it the media tick).
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import AsyncIterator, Iterable
from pathlib import Path
from typing import BinaryIO

from confero.domain.errors import DomainError

_KEY = re.compile(r"[0-9a-f]{32}")


def new_key() -> str:
    return secrets.token_hex(16)


class DirectoryBlobs:
    """Blobs as files in one directory, named by key."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, key: str) -> Path:
        """The file of ``key``; a key this store did not make is refused."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"not a blob key: {key!r}")
        return self.root / key

    async def write(self, chunks: AsyncIterator[bytes], *, max_bytes: int) -> tuple[str, int]:
        """Store the stream; over ``max_bytes`` it is refused (``file.too_large``) and
        nothing stays on disk. Returns the new key and the size."""
        key = new_key()
        final = self.path(key)
        part = final.with_name(key + ".part")
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        handle: BinaryIO = await asyncio.to_thread(part.open, "xb")
        size = 0
        try:
            async for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    raise DomainError(
                        "file.too_large",
                        f"a file has at most {max_bytes // (1024 * 1024)} MB",
                        max_mb=max_bytes // (1024 * 1024),
                    )
                await asyncio.to_thread(handle.write, chunk)
            await asyncio.to_thread(handle.close)
            await asyncio.to_thread(part.replace, final)
        except BaseException:
            await asyncio.to_thread(_discard, handle, part)
            raise
        return key, size

    async def write_file(self, source: Path) -> tuple[str, int]:
        """Take over a finished file (a recording) under a new key."""
        key = new_key()
        final = self.path(key)
        await asyncio.to_thread(self.root.mkdir, parents=True, exist_ok=True)
        await asyncio.to_thread(source.replace, final)
        return key, final.stat().st_size

    async def delete(self, keys: Iterable[str]) -> None:
        """Gone, if there; a key already gone is no error (a reset that was repeated)."""
        paths = [self.path(k) for k in keys]

        def unlink_all() -> None:
            for p in paths:
                p.unlink(missing_ok=True)

        await asyncio.to_thread(unlink_all)

    def sweep(self) -> int:
        """Remove unfinished uploads left by a crash; called at start-up."""
        if not self.root.exists():
            return 0
        leftovers = list(self.root.glob("*.part"))
        for p in leftovers:
            p.unlink(missing_ok=True)
        return len(leftovers)


def _discard(handle: BinaryIO, part: Path) -> None:
    handle.close()
    part.unlink(missing_ok=True)
