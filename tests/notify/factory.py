"""An ``Invitation`` for tests: a Polish host's meeting on Tuesday 10 November 2026,
14:36-15:36 UTC (15:36-16:36 in Warsaw)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from confero.domain.notices import Invitation, Kind

START = datetime(2026, 11, 10, 14, 36, tzinfo=UTC)
END = datetime(2026, 11, 10, 15, 36, tzinfo=UTC)
ADMIN_PIN = "987123"  # the room's admin PIN: must never appear in a notice
ORGANIZER_EMAIL = "anna.nowak@example.org"

BASE = Invitation(
    kind=Kind.INVITATION,
    uid="reservation-42@confero.example",
    sequence=0,
    title="Zarząd: przegląd kwartału",
    room_name="Sala Zarządu",
    start=START,
    end=END,
    time_zone="Europe/Warsaw",
    language="pl",
    dial_in_number="223500908",
    conference_number="123456",
    pin="654321",
    join_url="https://confero.example/join/Tq8x2bY",
    organizer_name="Anna Nowak",
    organizer_email=ORGANIZER_EMAIL,
)


def invitation(**changes: Any) -> Invitation:
    return replace(BASE, **changes)
