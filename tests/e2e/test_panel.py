"""The host panel in Debian's Chromium, driven like a host would (F-RS8, F-RS7): sign in
and land on My rooms, rooms with their access data and copy buttons, refusals next to
the field in the page's language, a new invite link, bookings in the account's time
zone judged by the server's clock (the FakeClock, 2026-11-02 09:00 UTC, while the
browser's clock is real), accounts, the SMS outbox, why a notice was not sent, and a
phone-sized screen."""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from confero.app.rooms import RoomPolicy
from confero.domain import commands as c
from confero.domain.accounts import Account
from confero.domain.notices import Channel, State
from confero.domain.roles import Role
from confero.domain.rooms import Room
from tests.app.notice_support import eventually
from tests.clock import FakeClock
from tests.e2e.chromium import Launch
from tests.web.support import PASSWORD
from tests.webrtc.support import Served

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CLIPBOARD = {"permissions": ["clipboard-read", "clipboard-write"]}


async def account(served: Served, email: str, name: str, *, admin: bool = False) -> Account:
    return await served.services.accounts.create(email, PASSWORD, name, is_admin=admin)


async def signed_in(chromium: Launch, served: Served, who: Account, path: str, **ctx: Any) -> Page:
    """A browser with ``who``'s session cookie, at ``path``."""
    token = await served.services.accounts.issue_token(who, "session")
    viewport = ctx.pop("viewport", None)
    page = await chromium(None, **ctx)
    if viewport is not None:
        await page.set_viewport_size(viewport)
    await page.context.add_cookies(
        [{"name": "confero_session", "value": token, "url": served.base_url}]
    )
    await page.goto(served.base_url + path)
    return page


async def create_room(page: Page, name: str, capacity: str = "") -> None:
    await page.click("#room-new")
    await page.fill("#room-name", name)
    await page.fill("#room-capacity", capacity)
    await page.click("#room-save")


def card(page: Page, name: str) -> Any:
    return page.locator(".room-card", has=page.locator(".room-title", has_text=name))


async def shows_access(where: Locator, room: Room) -> None:
    """The room's numbers and both PINs, each with its copy button."""
    for field, value in (
        ("conference_number", room.conference_number),
        ("pin", room.pin),
        ("admin_pin", room.admin_pin),
    ):
        row = where.locator(f'.access-row[data-field="{field}"]')
        await expect(row.locator(".access-value")).to_have_text(value)
        await expect(row.locator("button.copy")).to_be_visible()


async def no_horizontal_scroll(page: Page) -> bool:
    width: int = await page.evaluate("document.documentElement.scrollWidth")
    return width <= 360


async def test_signing_in_lands_on_my_rooms(served: Served, chromium: Launch) -> None:
    await account(served, "hanna@example.org", "Hanna Host")
    page = await chromium(f"{served.base_url}/signin")
    await page.fill("#email", "hanna@example.org")
    await page.fill("#password", PASSWORD)
    await page.click("#signin")
    await page.wait_for_url(f"{served.base_url}/rooms")
    await expect(page.locator("#account-name")).to_have_text("Hanna Host")
    await expect(page.locator("#sign-out")).to_be_visible()
    await expect(page.locator("#nav-rooms")).to_have_attribute("aria-current", "page")
    await expect(page.locator("#nav-accounts")).to_have_count(0)
    await expect(page.locator("#rooms-empty")).to_be_visible()
    assert "Sign in" not in await page.locator("header").inner_text()

    await page.goto(f"{served.base_url}/")
    await expect(page.locator("#rooms-link")).to_be_visible()
    await expect(page.locator("#signin-link")).to_have_count(0)
    await page.click("#sign-out")
    await expect(page.locator("#signin-link")).to_be_visible()
    await page.goto(f"{served.base_url}/rooms")
    await page.wait_for_url(f"{served.base_url}/signin?next=%2Frooms")


async def test_a_room_with_its_access_data_and_copy_buttons(
    served: Served, chromium: Launch
) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    page = await signed_in(chromium, served, host, "/rooms", **CLIPBOARD)
    await create_room(page, "Board meeting")
    room_card = card(page, "Board meeting")
    await expect(room_card).to_be_visible()
    (room,) = await served.services.rooms.list(host)
    await shows_access(room_card, room)
    await expect(room_card.locator(".meeting-status")).to_have_text("No meeting is running.")
    start = room_card.locator("a.start")
    assert await start.get_attribute("href") == f"/join/{room.invite_token}"

    copy = room_card.locator('.access-row[data-field="pin"] button.copy')
    await copy.click()
    await expect(copy).to_have_text("Copied")
    assert await page.evaluate("navigator.clipboard.readText()") == room.pin
    await expect(copy).to_have_text("Copy", timeout=5000)

    # Edit: the same form, filled in.
    await room_card.locator("button.edit").click()
    await expect(page.locator("#room-name")).to_have_value("Board meeting")
    await page.fill("#room-name", "Board")
    await page.click("#room-save")
    await expect(card(page, "Board")).to_be_visible()
    await expect(page.locator(".room-card")).to_have_count(1)

    # Delete asks first, naming the room.
    await card(page, "Board").locator("button.delete").click()
    await expect(page.locator("#confirm-text")).to_contain_text("Board")
    await page.click("#confirm-ok")
    await expect(page.locator(".room-card")).to_have_count(0)
    assert await served.services.rooms.list(host) == []


async def test_the_card_shows_who_is_in_the_meeting(served: Served, chromium: Launch) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    room = await served.services.rooms.create(host, "Weekly")
    page = await signed_in(chromium, served, host, "/rooms")
    status = card(page, "Weekly").locator(".meeting-status")
    await expect(status).to_have_text("No meeting is running.")
    async with httpx.AsyncClient(base_url=served.base_url) as api:
        answer = await api.post("/api/v1/tokens", json={"email": host.email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {answer.json()['token']}"}
        url = f"/api/v1/rooms/{room.id}/conference/commands"
        joined = await api.post(url, json={"command": "join"}, headers=headers)
        assert joined.status_code == 200, joined.text
        # The page refreshes every 10 s while visible, and at once when it shows again.
        await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        await expect(status).to_contain_text("A meeting is running: 1 participant.")
        await expect(status.locator("li")).to_have_text("Hanna Host (API)")
        pid = joined.json()["participant_id"]
        await api.post(url, json={"command": "leave", "participant_id": pid}, headers=headers)
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    await expect(status).to_have_text("No meeting is running.")


async def test_capacity_over_the_maximum_is_refused_next_to_the_field(
    served: Served, chromium: Launch
) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    page = await signed_in(chromium, served, host, "/rooms?lang=de")
    maximum = served.services.rooms.policy.max_capacity
    await create_room(page, "Zu groß", str(maximum + 1))
    error = page.locator("#room-capacity-error")
    await expect(error).to_have_text(f"Die Kapazität ist eine ganze Zahl von 2 bis {maximum}.")
    await expect(page.locator("#room-capacity")).to_be_focused()
    await expect(page.locator("#room-capacity")).to_have_attribute("aria-invalid", "true")

    # The server decides: a lower maximum than the page knew is refused by the API, and
    # its answer lands next to the same field.
    served.services.rooms.policy = RoomPolicy(max_capacity=maximum - 5)
    await page.fill("#room-capacity", str(maximum - 2))
    await page.click("#room-save")
    await expect(error).to_have_text(f"Die Kapazität ist eine ganze Zahl von 2 bis {maximum - 5}.")
    assert await served.services.rooms.list(host) == []
    await page.keyboard.press("Escape")
    await expect(page.locator("#room-dialog")).not_to_be_visible()


async def test_a_new_invite_link_kills_the_old_one(served: Served, chromium: Launch) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    room = await served.services.rooms.create(host, "Weekly")
    page = await signed_in(chromium, served, host, "/rooms")
    link = card(page, "Weekly").locator('.access-row[data-field="invite_url"] .access-value')
    await expect(link).to_have_text(f"{served.services.base_url}/join/{room.invite_token}")
    await card(page, "Weekly").locator("button.new-link").click()
    await expect(page.locator("#confirm-text")).to_contain_text("old link stops working")
    await page.click("#confirm-ok")
    await expect(link).not_to_have_text(f"{served.services.base_url}/join/{room.invite_token}")
    fresh = (await link.inner_text()).rsplit("/join/", 1)[1]
    assert fresh != room.invite_token

    await page.goto(f"{served.base_url}/join/{room.invite_token}")
    await expect(page.locator("#not-found")).to_be_visible()
    await page.goto(f"{served.base_url}/join/{fresh}")
    await expect(page.locator("#prejoin")).to_be_visible()


async def set_time_zone(page: Page, served: Served, zone: str) -> None:
    await page.goto(f"{served.base_url}/settings")
    await page.select_option("#set-zone", zone)
    await page.click("#profile-save")
    await expect(page.locator("#panel-status")).to_have_text("Saved.")


def wall(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M")


async def test_booking_in_the_accounts_time_zone(
    served: Served, chromium: Launch, clock: FakeClock
) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    page = await signed_in(chromium, served, host, "/settings", **CLIPBOARD)
    await set_time_zone(page, served, "Europe/Warsaw")
    warsaw = timedelta(hours=1)  # CET in November: the server's now is 10:00 there
    now = clock.now()

    await page.goto(f"{served.base_url}/reservations?lang=pl")
    await page.click("#reservation-new")
    await expect(page.locator("#reservation-rules")).to_contain_text("10 minut")
    await expect(page.locator("#reservation-zone")).to_contain_text("Europe/Warsaw")
    await page.fill("#res-title", "Zarząd")
    await page.fill("#res-start", wall(now + warsaw + timedelta(minutes=9)))
    await page.fill("#res-end", wall(now + warsaw + timedelta(minutes=69)))
    await page.click("#reservation-save")
    error = page.locator("#res-start-error")
    await expect(error).to_contain_text("Początek musi być co najmniej 10 minut od teraz")
    await expect(page.locator("#res-start")).to_be_focused()

    await page.fill("#res-emails", "ann@example.org, not-an-address")
    await page.fill("#res-start", wall(now + warsaw + timedelta(minutes=30)))
    await page.fill("#res-end", wall(now + warsaw + timedelta(minutes=90)))
    await page.click("#reservation-save")
    await expect(error).to_be_hidden()
    await expect(page.locator("#res-emails-error")).to_have_text(
        "To nie jest adres e-mail: not-an-address"
    )
    await page.fill("#res-emails", "ann@example.org\nbob@example.org")
    await page.fill("#res-phones", "+48 600 100 200")
    await page.click("#reservation-save")

    booked = page.locator("#booked")
    await expect(booked).to_be_visible()
    (reservation,) = await served.services.reservations.list(host)
    assert reservation.start == now + timedelta(minutes=30), "10:30 in Warsaw is 09:30 UTC"
    assert reservation.end == now + timedelta(minutes=90)
    room = next(r for r in await served.services.rooms.list(host) if r.id == reservation.room_id)
    assert room.language.value == "pl", "invitations and prompts in the page's language"
    await shows_access(booked, room)
    await booked.locator('.access-row[data-field="conference_number"] button.copy').click()
    assert await page.evaluate("navigator.clipboard.readText()") == room.conference_number

    item = page.locator(".reservation-card")
    await expect(item).to_have_count(1)
    await expect(item).to_contain_text("Zarząd")
    await expect(item).to_contain_text("ann@example.org")
    await expect(item).to_contain_text("10:30")  # the wall time in Warsaw
    await expect(item.locator('.access-row[data-field="pin"] .access-value')).to_have_text(room.pin)

    # Edit: the form comes back filled in, in Warsaw's wall time; a later end is saved.
    await item.locator("button.edit").click()
    await expect(page.locator("#res-language-field")).to_be_hidden()  # edited in My rooms
    await expect(page.locator("#res-start")).to_have_value(
        wall(now + warsaw + timedelta(minutes=30))
    )
    await page.fill("#res-end", wall(now + warsaw + timedelta(minutes=120)))
    await page.click("#reservation-save")
    await expect(page.locator("#reservation-editor")).to_be_hidden()
    await expect(item).to_contain_text("12:00")
    (moved,) = await served.services.reservations.list(host)
    assert moved.end == now + timedelta(hours=2)

    await item.locator("button.delete").click()
    await expect(item.locator("button.delete")).to_have_text("Usuń")
    await expect(page.locator("#confirm-text")).to_contain_text("Zarząd")
    await page.click("#confirm-ok")
    await expect(page.locator(".reservation-card")).to_have_count(0)
    assert list(await served.services.reservations.list(host)) == []


async def test_the_servers_refusal_shows_on_the_form(
    served: Served, chromium: Launch, clock: FakeClock
) -> None:
    """The limit of active reservations is known only to the server: its problem+json
    answer appears on the form, in the page's language."""
    host = await account(served, "hanna@example.org", "Hanna Host")
    for day in range(1, 4):
        start = clock.now() + timedelta(days=day)
        await served.services.reservations.book(host, start, start + timedelta(hours=1))
    page = await signed_in(chromium, served, host, "/reservations?lang=de")
    await expect(page.locator(".reservation-card")).to_have_count(3)
    await page.click("#reservation-new")
    await page.click("#reservation-save")  # the form's default window is a valid one
    await expect(page.locator("#reservation-form-error")).to_have_text(
        "Sie haben bereits 3 aktive Reservierungen. Löschen Sie eine, um eine weitere anzulegen."
    )


async def test_an_admin_creates_an_account_and_sets_its_sms_allowance(
    served: Served, chromium: Launch
) -> None:
    admin = await account(served, "ada@example.org", "Ada Admin", admin=True)
    page = await signed_in(chromium, served, admin, "/accounts")
    await expect(page.locator(".account-card")).to_have_count(1)
    await page.click("#account-new")
    await page.fill("#acc-email", "cleo@example.org")
    await page.fill("#acc-name", "Cleo")
    await page.fill("#acc-password", "short")
    await page.click("#account-save")
    await expect(page.locator("#acc-password-error")).to_have_text(
        "A password has at least 8 characters."
    )
    await page.fill("#acc-password", PASSWORD)
    await page.fill("#acc-sms", "3")
    await page.click("#account-save")
    cleo = page.locator('.account-card[data-email="cleo@example.org"]')
    await expect(cleo).to_contain_text("SMS: 0 used of 3")

    await cleo.locator("button.allowance").click()
    await page.fill("#allowance", "12")
    await page.click("#allowance-save")
    await expect(cleo).to_contain_text("SMS: 0 used of 12")
    created = await served.services.accounts.by_email("cleo@example.org")
    assert created is not None and created.sms_allowance == 12

    await page.click("#account-new")
    await page.fill("#acc-email", "cleo@example.org")
    await page.fill("#acc-password", PASSWORD)
    await page.click("#account-save")
    await expect(page.locator("#acc-email-error")).to_have_text(
        "An account with this e-mail address exists."
    )
    await page.keyboard.press("Escape")

    await cleo.locator("button.reset").click()
    await expect(page.locator("#password-dialog-title")).to_have_text(
        "New password for cleo@example.org"
    )
    await page.fill("#reset-password", "another good password")
    await page.click("#password-save")
    await expect(page.locator("#panel-status")).to_contain_text("cleo@example.org")
    await cleo.locator("button.toggle").click()
    await expect(page.locator("#confirm-text")).to_contain_text("Disable cleo@example.org?")
    await page.click("#confirm-ok")
    await expect(cleo.locator(".tag")).to_have_text("Disabled")
    await expect(cleo.locator("button.toggle")).to_have_text("Enable")
    assert (
        await served.services.accounts.resolve_token(
            await served.services.accounts.issue_token(created, "session")
        )
        is None
    )
    await expect(
        page.locator(".account-card", has_text="ada@example.org").locator("button.toggle")
    ).to_have_count(0)


async def test_settings_change_the_own_password(served: Served, chromium: Launch) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    page = await signed_in(chromium, served, host, "/settings?lang=nl")
    await page.fill("#set-current", "wrong password!")
    await page.fill("#set-new", "a brand new secret")
    await page.fill("#set-repeat", "a brand new secreT")
    await page.click("#password-change")
    await expect(page.locator("#set-repeat-error")).to_have_text(
        "De twee nieuwe wachtwoorden verschillen."
    )
    await page.fill("#set-repeat", "a brand new secret")
    await page.click("#password-change")
    await expect(page.locator("#set-current-error")).to_have_text(
        "Het huidige wachtwoord klopt niet."
    )
    await page.fill("#set-current", PASSWORD)
    await page.click("#password-change")
    await expect(page.locator("#panel-status")).to_contain_text("Je wachtwoord is gewijzigd.")
    assert await served.services.accounts.authenticate(host.email, "a brand new secret", "t")


TIME_JS = """
async () => {
  const m = await import('/static/js/panel-time.js');
  const iso = (wall, zone) => m.isoWithOffset(m.wallToInstant(wall, zone), zone);
  return {
    winter: iso('2026-11-02T10:30', 'Europe/Warsaw'),
    summer: iso('2026-07-01T10:30', 'Europe/Warsaw'),
    gap: iso('2026-03-29T02:30', 'Europe/Amsterdam'),
    before_gap: iso('2026-03-29T01:30', 'Europe/Amsterdam'),
    twice: iso('2026-10-25T02:30', 'Europe/Amsterdam'),
    new_york: iso('2026-11-01T09:00', 'America/New_York'),
    kolkata: iso('2026-11-02T10:30', 'Asia/Kolkata'),
    utc: iso('2026-11-02T10:30', 'UTC'),
    back: m.instantToWall(Date.parse('2026-07-01T08:30:00Z'), 'Europe/Warsaw'),
  };
}
"""


async def test_wall_times_in_a_zone_become_iso_with_its_offset(
    served: Served, chromium: Launch
) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")
    page = await signed_in(chromium, served, host, "/reservations", timezone_id="Asia/Tokyo")
    result = await page.evaluate(TIME_JS)
    assert result == {
        "winter": "2026-11-02T10:30:00+01:00",
        "summer": "2026-07-01T10:30:00+02:00",
        "gap": "2026-03-29T03:30:00+02:00",  # the clocks skip 02:00-03:00
        "before_gap": "2026-03-29T01:30:00+01:00",
        "twice": "2026-10-25T02:30:00+01:00",  # 02:30 happens twice: the later one
        "new_york": "2026-11-01T09:00:00-05:00",  # the day DST ends there
        "kolkata": "2026-11-02T10:30:00+05:30",
        "utc": "2026-11-02T10:30:00+00:00",
        "back": "2026-07-01T10:30",
    }


async def test_the_panel_fits_a_phone(served: Served, chromium: Launch, clock: FakeClock) -> None:
    admin = await account(served, "ada@example.org", "Ada Admin-Administrator", admin=True)
    await served.services.rooms.create(admin, "A room with a rather long name for a phone")
    start = clock.now() + timedelta(days=2)
    await served.services.reservations.book(
        admin,
        start,
        start + timedelta(hours=1),
        title="Quarterly review",
        invitee_emails=["ann@example.org"],
    )
    page = await signed_in(
        chromium, served, admin, "/rooms", viewport={"width": 360, "height": 740}
    )
    await expect(page.locator(".room-card")).to_have_count(2)
    assert await no_horizontal_scroll(page)
    if os.environ.get("CONFERO_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS / "panel-rooms-phone.png"), full_page=True)
    await page.goto(f"{served.base_url}/reservations")
    await expect(page.locator(".reservation-card")).to_have_count(1)
    await page.click("#reservation-new")
    assert await no_horizontal_scroll(page)
    if os.environ.get("CONFERO_SCREENSHOTS"):
        await page.screenshot(path=str(DOCS / "panel-reservations-phone.png"), full_page=True)
    for path in ("/accounts", "/sms", "/settings"):
        await page.goto(served.base_url + path)
        assert await no_horizontal_scroll(page), path
    await page.goto(f"{served.base_url}/rooms")
    await page.click("#room-new")
    assert await no_horizontal_scroll(page)


async def test_screenshots_for_the_docs(served: Served, chromium: Launch, clock: FakeClock) -> None:
    """docs/screenshots/panel-*.png at 1280 px (CONFERO_SCREENSHOTS=1); without it, the
    same pages still load without errors."""
    host = await account(served, "hanna@example.org", "Hanna Host")
    await served.services.rooms.create(host, "Weekly sync")
    start = clock.now() + timedelta(days=1, hours=5)
    await served.services.reservations.book(
        host,
        start,
        start + timedelta(hours=1),
        title="Quarterly review",
        invitee_emails=["ann@example.org", "bob@example.org"],
        invitee_phones=["+48600100200"],
    )
    page = await signed_in(chromium, served, host, "/rooms")
    await expect(page.locator(".room-card")).to_have_count(2)
    shoot = bool(os.environ.get("CONFERO_SCREENSHOTS"))
    if shoot:
        DOCS.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(DOCS / "panel-rooms.png"), full_page=True)
    await page.goto(f"{served.base_url}/reservations")
    await expect(page.locator(".reservation-card")).to_have_count(1)
    await page.click("#reservation-new")
    if shoot:
        await page.screenshot(path=str(DOCS / "panel-reservations.png"), full_page=True)


async def test_an_sms_beyond_the_allowance_shows_why_it_was_not_sent(
    served: Served, chromium: Launch
) -> None:
    host = await account(served, "hanna@example.org", "Hanna Host")  # allowance 0
    page = await signed_in(chromium, served, host, "/reservations")
    await page.click("#reservation-new")
    await expect(page.locator("#res-sms-left")).to_have_text("SMS left: 0 of 0.")
    await page.fill("#res-phones", "+48600100200")
    await page.check("#res-sms-at-booking")
    await page.click("#reservation-save")
    await expect(page.locator("#booked")).to_be_visible()
    sms = page.locator('.notice[data-channel="sms"]')
    await expect(sms.first).to_have_attribute("data-state", "skipped")
    await expect(sms.first).to_contain_text("SMS not sent: allowance used up")


REASONS_JS = """
async () => {
  const { reasonText } = await import('/static/js/panel-reasons.js');
  return [
    reasonText('delivery.refused: 550 mailbox unknown'),
    reasonText('sms.allowance_used_up'),
    reasonText('mail is not configured (CONFERO_SMTP_HOST)'),
    reasonText('some.new_code: detail'),
    reasonText(null),
  ];
}
"""


async def test_an_admin_reads_the_booked_sms_in_the_outbox(
    served: Served, chromium: Launch, clock: FakeClock
) -> None:
    """No CONFERO_SMS_URL: the worker keeps the SMS in the outbox, the administrator reads
    it there (time in the account's zone); the mail with no mail server configured says
    why it failed, in the page's language."""
    admin = await served.services.accounts.create(
        "ada@example.org",
        PASSWORD,
        "Ada Admin",
        is_admin=True,
        sms_allowance=2,
        time_zone="Europe/Warsaw",
    )
    page = await signed_in(chromium, served, admin, "/sms?lang=de")
    await expect(page.locator("#sms-mode")).to_contain_text("kein SMS-Gateway eingerichtet")
    await expect(page.locator("#sms-empty")).to_be_visible()
    await expect(page.locator(".sms-card")).to_have_count(0)

    start = clock.now() + timedelta(days=2)
    r, room = await served.services.reservations.book(
        admin,
        start,
        start + timedelta(hours=1),
        title="Vorstand",
        invitee_emails=["ann@example.org"],
        invitee_phones=["+48600100200"],
        sms_at_booking=True,
    )

    async def worker_done() -> bool:
        states = {
            n.channel: n.state
            for n in await served.services.notices.for_reservation(r.id)
            if n.kind == "invitation"
        }
        return states == {Channel.SMS: State.SENT, Channel.EMAIL: State.FAILED}

    await eventually(worker_done)
    await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    sms = page.locator(".sms-card")
    await expect(sms).to_have_count(1)
    await expect(page.locator("#sms-empty")).to_be_hidden()
    await expect(sms).to_have_attribute("data-to", "+48600100200")
    await expect(sms.locator(".sms-meta")).to_contain_text("Von: Confero")
    await expect(sms.locator(".sms-meta")).to_contain_text("10:00")  # 09:00 UTC in Warsaw
    text = sms.locator(".sms-text")
    await expect(text).to_contain_text(room.conference_number)
    await expect(text).to_contain_text(room.pin)
    assert room.admin_pin not in await text.inner_text()

    await page.click("#nav-reservations")
    card = page.locator(".reservation-card")
    await expect(card.locator('.notice[data-channel="sms"]').first).to_have_attribute(
        "data-state", "sent"
    )
    mail = card.locator('.notice[data-channel="email"][data-state="failed"]')
    await expect(mail.locator(".notice-reason")).to_have_text(
        "E-Mail nicht gesendet: auf diesem Server ist kein Mailserver eingerichtet "
        "(CONFERO_SMTP_HOST is not set)"
    )
    assert await page.evaluate(REASONS_JS) == [
        "der empfangende Server hat sie abgelehnt (550 mailbox unknown)",
        "Kontingent aufgebraucht",
        "mail is not configured (CONFERO_SMTP_HOST)",  # an older row: as the server said
        "some.new_code: detail",
        "kein Grund bekannt",
    ]


async def test_moderators_read_the_activity_log_with_who_and_when(
    served: Served, chromium: Launch
) -> None:
    """Issue 12, Deliver 4: the log on the room card, newest first, paged, for moderators;
    a participant member gets no button."""
    host = await account(served, "hanna@example.org", "Hanna Host")
    piet = await account(served, "piet@example.org", "Piet")
    room = await served.services.rooms.create(host, "Weekly")
    await served.services.rooms.set_member(host, room.id, piet.email, "participant")
    svc = served.services
    pid, _ = await svc.conferences.join(
        room, display_name="Hanna", role=Role.MODERATOR, channel="browser", identity="h"
    )
    for _ in range(12):  # more than one page of entries
        await svc.conferences.command(room, c.Lock(by=pid))
        await svc.conferences.command(room, c.Unlock(by=pid))
    await svc.conferences.command(room, c.MuteAll(by=pid))
    await svc.bus.drain()

    page = await signed_in(chromium, served, host, "/rooms")
    weekly = card(page, "Weekly")
    await weekly.locator(".room-activity").click()
    entries = weekly.locator(".activity-entry")
    await expect(entries.first).to_contain_text("Hanna muted everyone")
    await expect(entries).to_have_count(20)
    await weekly.locator(".activity-more").click()
    await expect(entries).to_have_count(27)  # started, joined, 24 lock changes, mute all
    await expect(entries.last).to_contain_text("The meeting started")
    await expect(entries.nth(25)).to_contain_text("Hanna joined")
    await expect(entries.nth(1)).to_contain_text("Hanna unlocked the meeting")

    member = await signed_in(chromium, served, piet, "/rooms")
    await expect(card(member, "Weekly")).to_be_visible()
    await expect(card(member, "Weekly").locator(".room-activity")).to_have_count(0)
