"""Logs as an operator reads them (issue 18): plain text by default, one JSON object per
line with ``CONFERO_LOG_FORMAT=json``, and never a secret in either.

Context: four context variables (request, call, room, participant id) are set where that
work starts (the HTTP middleware per request, the phone call's task per call) and every
line logged inside it carries them, however deep the logger. asyncio copies the context
into each task it creates, so a call's sub-tasks carry its id too, and two calls never
see each other's. A ``ContextFilter`` on the handler stamps them on the record when it
is logged (in the emitting context), so a formatter that runs later still has them;
``extra={"room_id": ...}`` on a call wins over the context.

Redaction: ``RedactFilter`` sits on the handler, so it sees every record of every
logger (ours, uvicorn's access log, libraries'), and rewrites its message (and the
text of its exception) before any formatter runs: digits after "PIN", the value after
token/password/secret/authorization words, bearer tokens, the session cookie, and the
token of an invite link (``/join/<token>``: uvicorn's access log printed those before).
It masks, it does not drop: the event stays, its secret goes. A filter cannot see
secrets that are not marked as such (a PIN printed bare); the code logs ids, never
PINs, and the end-to-end test greps the whole log of a real run for the secrets it used.

The text format is the one ``confero serve`` always printed
(``time level logger message``); the JSON object has ``time`` (UTC, ISO 8601, ms),
``level``, ``logger``, ``message``, the context ids that are set, and ``exc`` with the
traceback when there is one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Final, Literal, TextIO

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
call_id: ContextVar[str | None] = ContextVar("call_id", default=None)
room_id: ContextVar[str | None] = ContextVar("room_id", default=None)
participant_id: ContextVar[str | None] = ContextVar("participant_id", default=None)

#: The context fields, in the order the JSON object lists them.
CONTEXT: Final[dict[str, ContextVar[str | None]]] = {
    "request_id": request_id,
    "call_id": call_id,
    "room_id": room_id,
    "participant_id": participant_id,
}

TEXT_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s %(message)s"
MASK: Final = "***"

_WORD_SECRET = re.compile(
    r"(?i)((?:[a-z_]*token|password|passwd|secret|authorization|api[_-]?key|credential)"
    r"[\"']?\s*[:=]\s*[\"']?)((?:bearer\s+)?[^\s\"'&,;}]+)"
)
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+")
_PIN = re.compile(r"(?i)(pins?\b[\"']?\s*[:=]?\s*[\"']?)\d+")
_INVITE = re.compile(r"(/join/)[^\s/?#\"']+")
_COOKIE = re.compile(r"(confero_session=)[^\s;\"']+")


def redact(text: str) -> str:
    """``text`` with every secret we know the shape of masked."""
    text = _INVITE.sub(rf"\1{MASK}", text)
    text = _COOKIE.sub(rf"\1{MASK}", text)
    text = _BEARER.sub(rf"\1{MASK}", text)
    text = _WORD_SECRET.sub(rf"\1{MASK}", text)
    return _PIN.sub(rf"\1{MASK}", text)


class RedactFilter(logging.Filter):
    """Masks secrets in a record's message and exception text (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


class ContextFilter(logging.Filter):
    """Stamps the context ids on the record as it is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, var in CONTEXT.items():
            if getattr(record, name, None) is None:
                setattr(record, name, var.get())
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        stamp = datetime.fromtimestamp(record.created, UTC)
        entry: dict[str, object] = {
            "time": stamp.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in CONTEXT.items():
            value = getattr(record, name, None) or var.get()
            if value:
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


def handler(fmt: Literal["text", "json"] = "text", stream: TextIO | None = None) -> logging.Handler:
    """A stream handler (stderr by default) in ``fmt`` with the context and redaction."""
    out = logging.StreamHandler(stream or sys.stderr)
    out.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    out.addFilter(ContextFilter())
    out.addFilter(RedactFilter())
    return out


def configure(
    fmt: Literal["text", "json"] = "text", level: str = "info", stream: TextIO | None = None
) -> logging.Handler:
    """The root logger writes through one ``handler`` at ``level`` (what ``confero
    serve`` calls instead of ``logging.basicConfig``); uvicorn's loggers propagate here
    (the server gives uvicorn no logging config of its own)."""
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    # uvicorn's own dictConfig (any uvicorn started in this process with its default
    # ``log_config``) gives its loggers handlers of their own and stops them from
    # propagating: their lines would then skip the format and the redaction.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        taken = logging.getLogger(name)
        for old in list(taken.handlers):
            taken.removeHandler(old)
        taken.propagate = True
    out = handler(fmt, stream)
    root.addHandler(out)
    root.setLevel(level.upper())
    return out


@contextlib.contextmanager
def bound(**ids: str | None) -> Iterator[None]:
    """Sets context ids (``call_id=..., room_id=...``) for the block, then restores them."""
    tokens = [(CONTEXT[name], CONTEXT[name].set(value)) for name, value in ids.items()]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


def bind(**ids: str | None) -> None:
    """Sets context ids for the rest of the current task (its own copy of the context)."""
    for name, value in ids.items():
        CONTEXT[name].set(value)
