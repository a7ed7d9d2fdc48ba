"""Helpers for the notice tests: read the calendar entry of a received mail, and wait for
the worker (a background task) to do, or not to do, something."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from email.message import EmailMessage
from typing import Any

from icalendar import Calendar


def entry(message: EmailMessage) -> dict[str, Any]:
    """METHOD, UID, SEQUENCE, DTSTART, DTEND (aware datetimes) of the mail's .ics."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            cal = Calendar.from_ical(payload)
            event = next(c for c in cal.walk("VEVENT"))
            start: datetime = event.decoded("DTSTART")
            end: datetime = event.decoded("DTEND")
            return {
                "METHOD": str(cal["METHOD"]),
                "UID": str(event["UID"]),
                "SEQUENCE": int(event["SEQUENCE"]),
                "DTSTART": start,
                "DTEND": end,
            }
    raise AssertionError("the mail has no calendar entry")


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        assert loop.time() < deadline, "the expected change never happened"
        await asyncio.sleep(0.02)


async def settle() -> None:
    """Give the worker its chance to send something it should not."""
    await asyncio.sleep(0.3)
