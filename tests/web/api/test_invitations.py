"""Invite a person to a meeting now (seed 002, F-RS5): mails with a calendar entry from
now on go out through a real SMTP server; only people with a role in the room may, and
not without limit."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from confero.config import Settings
from tests.app.notice_support import entry, settle
from tests.clock import FakeClock
from tests.notify.smtp import SmtpSink, smtp_sink  # noqa: F401
from tests.web.support import User, add_member, assert_problem, create_room


@pytest.fixture
def settings(tmp_path: Path, smtp_sink: SmtpSink) -> Settings:  # noqa: F811
    return Settings(
        data_dir=tmp_path / "var",
        http_port=8080,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        access_number="223500908",
    )


async def invite(
    client: httpx.AsyncClient, user: User, room_id: str, emails: list[str]
) -> httpx.Response:
    return await client.post(
        f"/api/v1/rooms/{room_id}/invitations", json={"emails": emails}, headers=user.headers
    )


async def test_invited_people_get_a_mail_for_now_with_the_access_data(
    client: httpx.AsyncClient,
    clock: FakeClock,
    admin: User,
    other: User,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    room = await create_room(client, admin)
    assert (await add_member(client, admin, room["id"], other, "participant")).status_code == 200
    emails = ["Ann@Example.org", "ann@example.org", "ben@example.org"]
    answer = await invite(client, other, room["id"], emails)
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"queued": 2}
    mails = await smtp_sink.wait_for(2)
    assert sorted(r[0] for r in smtp_sink.recipients) == ["ann@example.org", "ben@example.org"]
    for mail in mails:
        calendar = entry(mail)
        assert calendar["METHOD"] == "REQUEST"
        assert calendar["DTSTART"] == clock.now()
        assert calendar["DTEND"] == clock.now() + timedelta(hours=1)
        text = mail.get_body(("plain",))
        assert text is not None
        content = text.get_content()
        assert room["conference_number"] in content and room["pin"] in content
        assert room["admin_pin"] not in content
        assert room["invite_url"] in content
    await settle()
    assert len(smtp_sink.messages) == 2


async def test_only_people_in_the_room_may_invite(
    client: httpx.AsyncClient,
    admin: User,
    other: User,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    room = await create_room(client, admin)
    outsider = await invite(client, other, room["id"], ["ann@example.org"])
    assert_problem(outsider, 404, "room.not_found")
    anonymous = await client.post(
        f"/api/v1/rooms/{room['id']}/invitations", json={"emails": ["ann@example.org"]}
    )
    assert_problem(anonymous, 401, "auth.required")
    await settle()
    assert smtp_sink.messages == []


async def test_bad_addresses_are_refused_and_nothing_is_sent(
    client: httpx.AsyncClient,
    admin: User,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    room = await create_room(client, admin)
    bad = await invite(client, admin, room["id"], ["ann@example.org", "not an address"])
    body = assert_problem(bad, 422, "invitation.invalid_email")
    assert (body["value"], body["field"]) == ("not an address", "emails")
    assert_problem(await invite(client, admin, room["id"], []), 422, "request.invalid")
    too_many = [f"guest{n}@example.org" for n in range(21)]
    assert_problem(await invite(client, admin, room["id"], too_many), 422, "request.invalid")
    await settle()
    assert smtp_sink.messages == []


async def test_invitations_are_rate_limited_per_account(
    client: httpx.AsyncClient,
    clock: FakeClock,
    admin: User,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    room = await create_room(client, admin)
    guests = [f"guest{n}@example.org" for n in range(20)]
    assert (await invite(client, admin, room["id"], guests)).status_code == 202
    limited = await invite(client, admin, room["id"], ["late@example.org"])
    assert_problem(limited, 429, "auth.rate_limited")
    assert int(limited.headers["Retry-After"]) > 0
    await smtp_sink.wait_for(20)
    clock.advance(timedelta(minutes=10))
    assert (await invite(client, admin, room["id"], ["late@example.org"])).status_code == 202
    await smtp_sink.wait_for(21)
