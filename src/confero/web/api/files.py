"""Shared files of a room over REST (issue 12, Deliver 2).

Readers of the room only (web/content_access.py): members and the owner by their
account, participants of the running meeting by ``X-Confero-Participant`` (a download
link by ``?participant=``). The upload is the raw body, named by ``?name=``; its name,
type and announced length are checked before a byte is read, and the size limit again
while reading. Downloads are always attachments with the type from domain/files.py,
``nosniff`` and a sandbox CSP: nothing uploaded is ever rendered as a page of ours.

In a cluster (issue 16) the node that runs the room's meeting answers (``OnOwner``,
web/forward.py): it knows the meeting's participants, and its pages hear of a new file.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, status
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel
from starlette.requests import ClientDisconnect

from confero.app.files import Uploader
from confero.domain.errors import DomainError
from confero.domain.files import MAX_FILE_NAME, SharedFile
from confero.web.content_access import Reader, reader
from confero.web.deps import ServicesDep
from confero.web.forward import OnOwner

router = APIRouter(prefix="/api/v1/rooms/{room_id}/files", tags=["files"], dependencies=[OnOwner])


class FileOut(BaseModel):
    id: str
    name: str
    media_type: str
    size: int
    uploader_name: str
    created_at: datetime
    #: Whether the one asking may delete it (the uploader, a moderator).
    deletable: bool


class FileList(BaseModel):
    files: list[FileOut]
    max_upload_mb: int
    types: list[str]


def _out(f: SharedFile, who: Reader) -> FileOut:
    return FileOut(
        id=f.id,
        name=f.name,
        media_type=f.media_type,
        size=f.size,
        uploader_name=f.uploader_name,
        created_at=f.created_at,
        deletable=f.deletable_by(who.uploader_key, moderator=who.moderator),
    )


def _uploader(who: Reader) -> Uploader:
    return Uploader(who.uploader_key, who.name, who.moderator)


def content_disposition(name: str) -> str:
    """``attachment`` with the name as RFC 6266/5987 UTF-8 and a plain ASCII fallback."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\;' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


@router.get("", response_model=FileList)
async def list_files(room_id: str, request: Request, svc: ServicesDep) -> FileList:
    who = await reader(request, svc, room_id)
    found = await svc.files.list(room_id)
    return FileList(
        files=[_out(f, who) for f in found],
        max_upload_mb=svc.files.max_bytes // (1024 * 1024),
        types=sorted(svc.files.types),
    )


@router.post("", response_model=FileOut, status_code=status.HTTP_201_CREATED)
async def upload_file(
    room_id: str,
    request: Request,
    svc: ServicesDep,
    name: str = Query(min_length=1, max_length=4 * MAX_FILE_NAME),
) -> FileOut:
    who = await reader(request, svc, room_id)
    declared: int | None = None
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError:
            raise DomainError("request.invalid", "Content-Length is not a number") from None
    # Name, type and announced length before a byte is read (a 413 at once).
    svc.files.check(name, declared)

    async def body() -> AsyncIterator[bytes]:
        async for chunk in request.stream():
            if chunk:
                yield chunk

    try:
        shared = await svc.files.upload(
            room_id, name, body(), _uploader(who), declared_size=declared
        )
    except ClientDisconnect:
        raise DomainError("request.invalid", "the upload stopped before its end") from None
    return _out(shared, who)


@router.get("/{file_id}")
async def download_file(room_id: str, file_id: str, request: Request, svc: ServicesDep) -> Response:
    await reader(request, svc, room_id)
    shared, path = await svc.files.get(room_id, file_id)
    return FileResponse(
        path,
        media_type=shared.media_type,
        headers={
            "Content-Disposition": content_disposition(shared.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.delete("/{file_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_file(room_id: str, file_id: str, request: Request, svc: ServicesDep) -> Response:
    who = await reader(request, svc, room_id)
    await svc.files.delete(room_id, file_id, _uploader(who))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
