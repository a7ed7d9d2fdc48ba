"""The panel's room card when the room's PIN is being guessed (issue 14, item 3): in
Chromium the owner reads until when PIN entry is locked and unlocks it with one click;
after that the right PIN opens the room again."""

from __future__ import annotations

import contextlib

from playwright.async_api import expect

from confero.domain.errors import DomainError
from tests.e2e.chromium import Launch
from tests.e2e.test_panel import account, card, signed_in
from tests.webrtc.support import Served


async def test_the_owner_sees_the_pin_lock_out_and_unlocks_it(
    served: Served, chromium: Launch
) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    rooms = served.services.rooms
    room = await rooms.create(host, "Weekly")
    for n in range(10):  # guesses from ten callers at ten addresses lock the room
        with contextlib.suppress(DomainError):
            await rooms.access_by_pin(
                room.conference_number, "1", f"phone:+3120{n}", address=f"198.51.100.{n}"
            )
    assert await rooms.room_locked_until(room) is not None

    page = await signed_in(chromium, served, host, "/rooms")
    notice = card(page, "Weekly").locator(".pin-locked")
    await expect(notice).to_contain_text("PIN entry is locked until")
    await notice.locator("button.pin-unlock").click()
    await expect(notice).to_have_count(0)
    assert await rooms.room_locked_until(room) is None
    _, role = await rooms.access_by_pin(
        room.conference_number, room.pin, "phone:+4899", address="192.0.2.1"
    )
    assert role.value == "participant"
