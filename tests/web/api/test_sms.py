"""The development SMS outbox (F-RS6): with no CONFERO_SMS_URL the SMS of a booking land
in the outbox, which administrators read newest first."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx

from confero.app.services import Services
from tests.clock import FakeClock
from tests.web.support import User, assert_problem


async def test_without_a_gateway_sms_land_in_the_outbox_for_administrators(
    client: httpx.AsyncClient, clock: FakeClock, services: Services, admin: User, other: User
) -> None:
    account = await services.accounts.by_email(admin.email)
    assert account is not None
    account.sms_allowance = 5
    async with services.uow() as uow:
        await uow.accounts.update(account)
        await uow.commit()
    start = clock.now() + timedelta(days=2)
    made = await client.post(
        "/api/v1/reservations",
        json={
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "invitee_phones": ["+48600100200", "+48600100300"],
            "notify_email": False,
            "sms_at_booking": True,
        },
        headers=admin.headers,
    )
    assert made.status_code == 201, made.text
    room = made.json()["room"]

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while len(outbox := (await client.get("/api/v1/sms/outbox", headers=admin.headers)).json()) < 2:
        assert loop.time() < deadline, outbox
        await asyncio.sleep(0.02)
    assert sorted(m["to"] for m in outbox) == ["+48600100200", "+48600100300"]
    assert outbox[0]["id"] > outbox[1]["id"]  # newest first
    for message in outbox:
        assert message["sender"] == "Confero"
        assert room["pin"] in message["text"] and room["admin_pin"] not in message["text"]

    assert_problem(
        await client.get("/api/v1/sms/outbox", headers=other.headers), 403, "auth.forbidden"
    )
