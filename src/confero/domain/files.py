"""Shared files of a room: the rules for a name, a type and who may delete (issue 12).

The name a user gives is only ever shown and sent back in ``Content-Disposition``; it is
cleaned here (no path, no control characters, bounded) and never used as a path (the
blob store makes its own names). The type is decided from the name's extension against
the server's list of allowed types (``CONFERO_UPLOAD_TYPES``), not from what the
browser claims: a page that says ``text/plain`` for ``evil.html`` gets no HTML served.
Every file is served as an attachment with the type named here, so nothing uploaded is
ever rendered inline as a page of ours.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime

from confero.domain.errors import DomainError

MAX_FILE_NAME = 200

#: Extension -> media type for every type the server can accept. The default allowed
#: list is all of these; none is rendered by a browser as active content.
MEDIA_TYPES: dict[str, str] = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "txt": "text/plain; charset=utf-8",
    "csv": "text/csv; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "odt": "application/vnd.oasis.opendocument.text",
    "ods": "application/vnd.oasis.opendocument.spreadsheet",
    "odp": "application/vnd.oasis.opendocument.presentation",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "zip": "application/zip",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "mp4": "video/mp4",
}
DEFAULT_TYPES = tuple(MEDIA_TYPES)


def clean_name(given: str) -> str:
    """What is shown: the last path part, without control characters, at most
    ``MAX_FILE_NAME`` characters (the extension kept)."""
    last = given.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in last if unicodedata.category(ch)[0] != "C").strip(" .")
    if not name:
        raise DomainError("file.invalid_name", "the file needs a name")
    if len(name) > MAX_FILE_NAME:
        _, dot, ext = name.rpartition(".")
        keep = f"{dot}{ext}" if dot and len(ext) <= 10 else ""
        name = name[: MAX_FILE_NAME - len(keep)] + keep
    return name


def extension(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""


def media_type(name: str, allowed: tuple[str, ...] = DEFAULT_TYPES) -> str:
    """The type a file of this name is served with; refused when not allowed."""
    ext = extension(name)
    if ext not in allowed or ext not in MEDIA_TYPES:
        raise DomainError(
            "file.type_refused",
            f"files of type .{ext or '?'} are not accepted here",
            allowed=", ".join(sorted(a for a in allowed if a in MEDIA_TYPES)),
        )
    return MEDIA_TYPES[ext]


@dataclass(frozen=True)
class SharedFile:
    id: str
    room_id: str
    name: str
    media_type: str
    size: int
    #: The blob store's key; never shown.
    blob: str
    uploader_id: str | None
    uploader_name: str
    created_at: datetime

    def deletable_by(self, account_id: str | None, *, moderator: bool) -> bool:
        """The uploader and the room's moderators (F-RC1)."""
        return moderator or (account_id is not None and account_id == self.uploader_id)
