"""Shared files of a room (issue 12, Deliver 2): upload, list, download, delete.

The rules are domain/files.py's (a cleaned name, the type from the server's list, who
may delete); the bytes go through the ``BlobStore`` port (store/blobs.py by default), the
row through the unit of work. Order keeps the two together (house rule 7):

- upload: the name and type are checked before a byte is read; the stream goes to the
  blob store with the size limit (a refused stream leaves nothing); then the row. If the
  row fails the blob goes too. Only then ``FileShared``.
- delete: the row first, then the blob (a crash in between leaves an unreferenced blob,
  which the start-up sweep may remove; never a row without its bytes). Then
  ``FileDeleted``.

Who is asking (a reader of the room: web/content_access.py) is decided by the caller;
``who`` is the uploader key stored with the file (an account id, or
``participant:<id>`` for a guest in the meeting).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confero.app.ports import BlobStore, Clock, EventBus, UnitOfWorkFactory
from confero.domain import files as rules
from confero.domain.errors import DomainError
from confero.domain.events import FileDeleted, FileShared
from confero.domain.files import SharedFile

MB = 1024 * 1024


@dataclass(frozen=True)
class Uploader:
    """Who uploads or deletes: ``key`` is stored with the file, ``name`` shown."""

    key: str
    name: str
    moderator: bool = False


def parse_types(setting: str) -> tuple[str, ...]:
    """``CONFERO_UPLOAD_TYPES`` ("pdf, png ...", "" = every known type) as extensions."""
    wanted = [t.strip().lower().lstrip(".") for t in setting.replace(";", ",").split(",")]
    chosen = tuple(t for t in wanted if t)
    return chosen or rules.DEFAULT_TYPES


def file_to_wire(f: SharedFile) -> dict[str, Any]:
    """What pages and API clients see of a file (never the blob key)."""
    return {
        "id": f.id,
        "name": f.name,
        "media_type": f.media_type,
        "size": f.size,
        "uploader_name": f.uploader_name,
        "created_at": f.created_at.isoformat(),
    }


class FileService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        bus: EventBus,
        clock: Clock,
        blobs: BlobStore,
        *,
        max_upload_mb: int = 50,
        upload_types: str = "",
    ) -> None:
        self._uow = uow
        self._bus = bus
        self._clock = clock
        self.blobs = blobs
        self.max_bytes = max_upload_mb * MB
        self.types = parse_types(upload_types)

    def too_large(self) -> DomainError:
        mb = self.max_bytes // MB
        return DomainError("file.too_large", f"a file has at most {mb} MB", max_mb=mb)

    def check(self, given_name: str, declared_size: int | None = None) -> tuple[str, str]:
        """Name and type of an upload, before its body is read: (clean name, type)."""
        name = rules.clean_name(given_name)
        media_type = rules.media_type(name, self.types)
        if declared_size is not None and declared_size > self.max_bytes:
            raise self.too_large()
        return name, media_type

    async def upload(
        self,
        room_id: str,
        given_name: str,
        chunks: AsyncIterator[bytes],
        who: Uploader,
        *,
        declared_size: int | None = None,
    ) -> SharedFile:
        name, media_type = self.check(given_name, declared_size)
        key, size = await self.blobs.write(chunks, max_bytes=self.max_bytes)
        shared = SharedFile(
            id=secrets.token_hex(16),
            room_id=room_id,
            name=name,
            media_type=media_type,
            size=size,
            blob=key,
            uploader_id=who.key,
            uploader_name=" ".join(who.name.split())[:120] or "Guest",
            created_at=self._clock.now(),
        )
        try:
            async with self._uow() as uow:
                await uow.files.add(shared)
                await uow.commit()
        except BaseException:
            await self.blobs.delete([key])
            raise
        await self._bus.publish(FileShared(room_id=room_id, file=file_to_wire(shared)))
        return shared

    async def list(self, room_id: str) -> Sequence[SharedFile]:
        async with self._uow() as uow:
            return await uow.files.list(room_id)

    async def get(self, room_id: str, file_id: str) -> tuple[SharedFile, Path]:
        """The file and where its bytes are; ``file.not_found`` if either is missing."""
        async with self._uow() as uow:
            found = await uow.files.get(room_id, file_id[:64])
        if found is None:
            raise DomainError("file.not_found", "no such file")
        path = self.blobs.path(found.blob)
        if not path.is_file():
            raise DomainError("file.not_found", "the file's contents are gone")
        return found, path

    async def delete(self, room_id: str, file_id: str, who: Uploader) -> None:
        async with self._uow() as uow:
            found = await uow.files.get(room_id, file_id[:64])
            if found is None:
                raise DomainError("file.not_found", "no such file")
            if not found.deletable_by(who.key, moderator=who.moderator):
                raise DomainError(
                    "auth.forbidden", "only the uploader or a moderator may delete this file"
                )
            await uow.files.delete(room_id, found.id)
            await uow.commit()
        await self.blobs.delete([found.blob])
        await self._bus.publish(
            FileDeleted(room_id=room_id, file_id=found.id, file_name=found.name, by=who.name)
        )
