"""The envelope every WebSocket message of ours travels in, version 1 (docs/SIGNALING.md).

The meeting socket (webrtc/signaling.py) and the people socket (web/people_socket.py)
carry different messages in one envelope: ``{"v":1,"type":...,"ref"?}``, at most a set
number of bytes, validated against a pydantic union before anything acts on it, and
refused with an ``error`` that names a stable code and the page's text for it (the one
error registry, domain/errors.py). Written once here so the two sockets cannot drift.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from confero.domain.errors import kind_of

VERSION = 1
MAX_REF = 40
M = TypeVar("M")


class BadMessage(Exception):
    def __init__(self, code: str, detail: str, ref: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.ref = ref


def type_names(kinds: Iterable[type[BaseModel]]) -> frozenset[str]:
    """The ``type`` literal of each message class."""
    return frozenset(
        cls.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
        for cls in kinds
    )


class Envelope(Generic[M]):
    """The parser of one socket: its message union and its size limit."""

    def __init__(
        self, adapter: TypeAdapter[M], kinds: Iterable[type[BaseModel]], max_bytes: int
    ) -> None:
        self._adapter = adapter
        self.types = type_names(kinds)
        self.max_bytes = max_bytes

    def parse(self, text: str) -> M:
        """One client message, validated; ``BadMessage`` says what is wrong with it."""
        if len(text.encode("utf-8", "replace")) > self.max_bytes:
            raise BadMessage(
                "signaling.too_large", f"messages are limited to {self.max_bytes} bytes"
            )
        try:
            raw = json.loads(text)
        except ValueError as exc:
            raise BadMessage("signaling.invalid_json", f"not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise BadMessage("signaling.invalid", "a message is a JSON object")
        ref = raw.get("ref") if isinstance(raw.get("ref"), str) else None
        ref = ref[:MAX_REF] if ref else None
        if raw.get("v") != VERSION:
            raise BadMessage("signaling.version", f"this server speaks version {VERSION}", ref)
        if raw.get("type") not in self.types:
            detail = f"unknown message type {raw.get('type')!r}"
            raise BadMessage("signaling.unknown_type", detail, ref)
        try:
            return self._adapter.validate_python(raw)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise BadMessage("signaling.invalid", f"{where}: {first['msg']}", ref) from exc


def message(type_: str, ref: str | None = None, **fields: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"v": VERSION, "type": type_, **fields}
    if ref is not None:
        out["ref"] = ref
    return out


def error(code: str, detail: str, ref: str | None = None, **extra: Any) -> dict[str, Any]:
    """An ``error`` with the code's page text key from the registry (domain/errors.py)."""
    return message("error", ref, code=code, detail=detail, text_key=kind_of(code).text_key, **extra)
