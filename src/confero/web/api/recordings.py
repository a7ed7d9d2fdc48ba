"""A room's recordings over REST (issue 12, Deliver 3).

Readers of the room only (web/content_access.py), as for shared files. A recording is
served inline as ``audio/ogg`` for the page's player, or as an attachment with
``?download=1``; never sniffed, sandboxed like every stored file. Moderators delete.
Starting and stopping is a command of the one contract: ``record_start`` /
``record_stop`` on ``POST /api/v1/rooms/{room_id}/conference/commands``.
In a cluster the node that runs the meeting answers (``OnOwner``, web/forward.py).
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Request, status
from fastapi.responses import FileResponse, Response
from pydantic import BaseModel

from confero.app.recorder_port import RecordingInfo
from confero.app.recordings import MEDIA_TYPE
from confero.web.content_access import reader
from confero.web.deps import ServicesDep
from confero.web.forward import OnOwner

router = APIRouter(
    prefix="/api/v1/rooms/{room_id}/recordings", tags=["recordings"], dependencies=[OnOwner]
)


class RecordingOut(BaseModel):
    id: str
    started_at: datetime
    #: Length in seconds.
    seconds: float
    size: int
    started_by: str | None
    media_type: str


class RecordingList(BaseModel):
    recordings: list[RecordingOut]
    #: A recording runs in the room now.
    recording: bool
    #: Whether the one asking may delete (moderators).
    can_delete: bool


def _out(r: RecordingInfo) -> RecordingOut:
    return RecordingOut(
        id=r.id,
        started_at=r.started_at,
        seconds=round(r.seconds, 2),
        size=r.size,
        started_by=r.started_by,
        media_type=MEDIA_TYPE,
    )


def file_name(r: RecordingInfo) -> str:
    return f"recording-{r.started_at:%Y-%m-%d-%H%M%S}.ogg"


@router.get("", response_model=RecordingList)
async def list_recordings(room_id: str, request: Request, svc: ServicesDep) -> RecordingList:
    who = await reader(request, svc, room_id)
    found = await svc.recordings.list(room_id)
    return RecordingList(
        recordings=[_out(r) for r in found],
        recording=svc.recordings.recording(room_id),
        can_delete=who.moderator,
    )


@router.get("/{recording_id}")
async def get_recording(
    room_id: str, recording_id: str, request: Request, svc: ServicesDep, download: bool = False
) -> Response:
    await reader(request, svc, room_id)
    rec = await svc.recordings.get(room_id, recording_id)
    disposition = "attachment" if download else "inline"
    return FileResponse(
        svc.recordings.path(rec),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'{disposition}; filename="{file_name(rec)}"',
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "sandbox; default-src 'none'",
            "Cache-Control": "private, no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


@router.delete("/{recording_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_recording(
    room_id: str, recording_id: str, request: Request, svc: ServicesDep
) -> Response:
    who = await reader(request, svc, room_id)
    await svc.recordings.delete(room_id, recording_id, moderator=who.moderator)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
