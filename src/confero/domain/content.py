"""Room content that outlives conferences: chat and the activity log (F-RC1, F-EN8)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from confero.domain.errors import DomainError

MAX_CHAT_TEXT = 4000


@dataclass
class ChatMessage:
    room_id: str
    author_name: str
    text: str
    created_at: datetime
    account_id: str | None = None
    #: Assigned by the store; orders messages and pages through them.
    id: int | None = None


@dataclass
class ActivityEntry:
    room_id: str
    kind: str
    created_at: datetime
    conference_id: str | None = None
    actor: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


def clean_chat_text(text: str) -> str:
    stripped = text.strip()
    if not stripped or len(stripped) > MAX_CHAT_TEXT:
        raise DomainError(
            "chat.invalid_text", f"a chat message has 1 to {MAX_CHAT_TEXT} characters"
        )
    return stripped
