"""The two roles of a conference: one moderator role, many participants (F-PH4)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    PARTICIPANT = "participant"
    MODERATOR = "moderator"

    def allows(self, required: Role) -> bool:
        return self is Role.MODERATOR or required is Role.PARTICIPANT
