"""A room whose PIN is being guessed (issue 14, item 3): after enough failures across
callers and addresses its PIN entry locks; the owner sees until when on the room and
lifts it; nobody else sees or lifts it."""

from __future__ import annotations

from datetime import datetime

import httpx
import pytest

from confero.app.services import Services
from confero.domain.errors import DomainError
from tests.clock import FakeClock
from tests.web.support import User, add_member, assert_problem, create_room


async def guess_until_locked(services: Services, number: str) -> None:
    for n in range(10):  # each guess from its own caller id and address
        with pytest.raises(DomainError) as exc:
            await services.rooms.access_by_pin(
                number, "x", f"phone:+3120{n}", address=f"198.51.100.{n}"
            )
        assert exc.value.code == "access.invalid"


async def test_the_owner_sees_the_lock_out_and_lifts_it(
    client: httpx.AsyncClient, services: Services, admin: User, other: User, clock: FakeClock
) -> None:
    room = await create_room(client, admin, "Board")
    base = f"/api/v1/rooms/{room['id']}"
    assert "pin_locked_until" not in (await client.get(base, headers=admin.headers)).json()
    assert (await add_member(client, admin, room["id"], other, "moderator")).status_code == 200

    await guess_until_locked(services, room["conference_number"])
    with pytest.raises(DomainError) as exc:  # the right PIN from a fresh caller: refused
        await services.rooms.access_by_pin(
            room["conference_number"], room["pin"], "phone:+4899", address="192.0.2.1"
        )
    assert exc.value.code == "auth.rate_limited"

    shown = (await client.get(base, headers=admin.headers)).json()
    until = datetime.fromisoformat(shown["pin_locked_until"])
    assert until > clock.now()
    listed = (await client.get("/api/v1/rooms", headers=admin.headers)).json()
    assert [r.get("pin_locked_until") for r in listed] == [shown["pin_locked_until"]]

    # A moderator member neither sees nor lifts it.
    assert "pin_locked_until" not in (await client.get(base, headers=other.headers)).json()
    refused = await client.delete(f"{base}/pin-lockout", headers=other.headers)
    assert_problem(refused, 403, "auth.forbidden")

    lifted = await client.delete(f"{base}/pin-lockout", headers=admin.headers)
    assert lifted.status_code == 200, lifted.text
    assert "pin_locked_until" not in lifted.json()
    _, role = await services.rooms.access_by_pin(
        room["conference_number"], room["pin"], "phone:+4899", address="192.0.2.1"
    )
    assert role.value == "participant"


async def test_nobody_else_can_lift_or_probe_a_lock_out(
    client: httpx.AsyncClient, admin: User, other: User
) -> None:
    room = await create_room(client, admin, "Board")
    response = await client.delete(f"/api/v1/rooms/{room['id']}/pin-lockout", headers=other.headers)
    assert_problem(response, 404, "room.not_found")
