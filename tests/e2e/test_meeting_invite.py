"""Invite from the meeting in Debian's Chromium (F-WB6, seed 002 "Person einladen"): the
link, dial-in number, conference number and PIN for everyone (never the admin PIN), the
invitation by mail arriving at a real SMTP server, and a moderator calling a phone number
whose call our own SIP user agent takes as the trunk."""

from __future__ import annotations

import json
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import icalendar
import pytest
from playwright.async_api import Page

from confero.config import Settings
from confero.domain.rooms import Room
from confero.web import i18n
from tests.clock import FakeClock
from tests.e2e.chromium import Launch
from tests.e2e.test_browser_meeting import enter, host_page, invite
from tests.notify.smtp import SmtpSink, smtp_sink
from tests.phone.support import callee_joins, own_trunk
from tests.webrtc.support import Served

__all__ = ["smtp_sink"]

EN = i18n.EN
ACCESS_NUMBER = "5000"


@pytest.fixture
def settings(tmp_path: Path, smtp_sink: SmtpSink) -> Settings:
    """The served node mails through the test's SMTP server and has a dial-in number."""
    return Settings(
        data_dir=tmp_path / "var",
        http_port=8080,
        access_number=ACCESS_NUMBER,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
    )


async def open_invite(page: Page) -> None:
    await page.click("#invite-open")
    await page.wait_for_selector("#invite-dialog[open]")


async def value(page: Page, selector: str) -> str:
    return await page.locator(selector).input_value()


async def test_everyone_sees_the_way_in_and_a_member_mails_the_invitation(
    served: Served, room: Room, chromium: Launch, smtp_sink: SmtpSink, clock: FakeClock
) -> None:
    host = await host_page(chromium, served, room)
    await enter(host)
    await open_invite(host)
    link = f"{served.services.base_url}/join/{room.invite_token}"
    assert await value(host, "#invite-link") == link
    assert await value(host, "#invite-dial-in") == ACCESS_NUMBER
    assert await value(host, "#invite-conference-number") == room.conference_number
    assert await value(host, "#invite-pin") == room.pin
    assert room.admin_pin not in await host.content()
    assert await host.locator("#invite-call-form").is_visible(), "a moderator may call out"

    # A mistyped address: refused next to the field, nothing sent.
    await host.fill("#invite-emails", "ann@example.org, not-an-address")
    await host.click("#invite-mail-send")
    status = host.locator("#invite-mail-status")
    await status.filter(has_text="not-an-address").wait_for()
    assert "error" in (await status.get_attribute("class") or "")
    assert smtp_sink.messages == []

    await host.fill("#invite-emails", "ann@example.org")
    await host.click("#invite-mail-send")
    await status.filter(has_text=EN["invite_mail_sent"].format(emails="ann@example.org")).wait_for()
    [mail] = await smtp_sink.wait_for(1)
    assert smtp_sink.to("ann@example.org") == [mail]
    check_invitation_mail(mail, room, clock)

    # 20 addresses in 10 minutes per account: the server is no spam relay.
    many = ", ".join(f"guest{i}@example.org" for i in range(19))
    await host.fill("#invite-emails", many)
    await host.click("#invite-mail-send")
    await status.filter(has_text="guest18@example.org").wait_for()
    await host.fill("#invite-emails", "one-too-many@example.org")
    await host.click("#invite-mail-send")
    await status.filter(has_text=EN["invite_mail_rate_limited"]).wait_for()
    await smtp_sink.wait_for(20)
    assert not smtp_sink.to("one-too-many@example.org")

    # A guest sees the same way in, but has no mail field and cannot call out.
    ann = await chromium(invite(served, room))
    await enter(ann, "Ann")
    await open_invite(ann)
    assert await value(ann, "#invite-link") == await value(host, "#invite-link")
    assert await value(ann, "#invite-pin") == room.pin
    assert await ann.locator("#invite-mail-form").count() == 0
    assert not await ann.locator("#invite-call-form").is_visible()
    assert not await ann.locator("#call-open").is_visible()
    assert room.admin_pin not in await ann.content()


def check_invitation_mail(mail: EmailMessage, room: Room, clock: FakeClock) -> None:
    """A calendar request for now, with the phone way in and never the admin PIN."""
    calendars = [p for p in mail.walk() if p.get_content_type() == "text/calendar"]
    assert calendars, mail
    ics = calendars[0].get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    calendar = icalendar.Calendar.from_ical(ics)
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.walk("VEVENT")
    start = event.decoded("DTSTART")
    assert abs(start - clock.now()) <= timedelta(minutes=5), (start, clock.now())
    texts = [
        p.get_content()
        for p in mail.walk()
        if p.get_content_maintype() == "text" and p.get_content_type() != "text/calendar"
    ]
    body = "\n".join(texts)
    assert room.conference_number in body and room.pin in body
    assert room.admin_pin not in body and room.admin_pin not in ics
    assert room.invite_token in body


async def call_from_the_page(page: Page, number: str) -> None:
    await page.fill("#invite-number", number)
    await page.click("#invite-call")


async def test_a_moderator_calls_a_phone_into_the_meeting(
    served: Served, room: Room, chromium: Launch
) -> None:
    assert served.node.phone is not None
    trunk, answered = await own_trunk(served.node.phone.bridge)
    try:
        host = await host_page(chromium, served, room)
        await enter(host)
        await host.click("#call-open")
        await host.wait_for_selector("#invite-dialog[open]")
        assert await host.evaluate("document.activeElement.id") == "invite-number"
        await call_from_the_page(host, "06 12-34 56 78")
        status = host.locator("#invite-call-status")
        await status.filter(has_text=EN["invite_calling"].format(number="0612345678")).wait_for()

        callee = await callee_joins(trunk, answered, "0612345678")
        phone_row = host.locator("#participants .participant[data-channel='phone']")
        await phone_row.wait_for(timeout=15_000)
        assert "0612345678" in await phone_row.inner_text(), "named after the number called"
        callee.hangup()
        await phone_row.wait_for(state="detached", timeout=10_000)

        # No trunk configured: the call cannot be placed, and the page says so.
        served.node.phone.bridge.trunk = None
        await call_from_the_page(host, "0698765432")
        failed = EN["invite_call_failed"].format(number="0698765432")
        await status.filter(has_text=failed).wait_for(timeout=10_000)
        assert "error" in (await status.get_attribute("class") or "")
        await host.locator("#toasts .toast.error", has_text=failed).wait_for()

        # A number the keypad would refuse is refused next to the field too.
        await call_from_the_page(host, "1")
        await status.filter(has_text=EN["invite_call_invalid"]).wait_for()
        snapshot = await host.evaluate("JSON.stringify(window.confero.snapshot())")
        assert len(json.loads(snapshot)["participants"]) == 1
    finally:
        await trunk.stop()
