"""People in Debian's Chromium (issue 11, F-WB3, F-WB4): three signed-in accounts in
their own browsers see each other's presence follow their pages, call each other (ring,
accept and talk with audio and video, decline, no answer, busy, two ringing tabs), and a
room's owner calls the room's members into its meeting. Guests and third accounts stay
out. Small liveness timers (ping 0.3 s, presence timeout 1.5 s, ring timeout 3 s) keep
the file fast; every wait is generous for a loaded two-core machine."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
import websockets
from playwright.async_api import Locator, Page, expect

from confero.config import Settings
from confero.domain.accounts import Account
from confero.domain.rooms import Room
from confero.web.i18n import EN
from tests.e2e.chromium import Launch, hears
from tests.e2e.test_panel import account, card
from tests.phone.support import eventually
from tests.webrtc.support import Served

PING = 0.3
PRESENCE_TIMEOUT = 1.5
RING_TIMEOUT = 3.0
#: Playwright waits (ms): a page that follows a push, a page that loads and joins.
SOON = 10_000
JOINED = 25_000
LOADED = 60_000
CALL_URL = re.compile(r"/join/[^/?#]+\?(?:.*&)?call=[^&#]+")
GATHER_URL = re.compile(r"/join/[^/?#]+\?(?:.*&)?autojoin=1")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings with small liveness timers (CONFERO_PRESENCE_PING, ...)."""
    return settings.model_copy(
        update={
            "presence_ping": PING,
            "presence_timeout": PRESENCE_TIMEOUT,
            "ring_timeout": RING_TIMEOUT,
        }
    )


# --------------------------------------------------------------------------- people


@dataclass(frozen=True)
class People:
    """Ann, Ben and Cat (and Dan, who stays offline until the end): Ann owns "Team"
    with Ben and Dan as members; Cat owns "Corner" with Ann as its member. So Ann has
    Ben, Cat and Dan as contacts (room co-members), Ben has Ann and Dan, Cat has Ann."""

    ann: Account
    ben: Account
    cat: Account
    dan: Account
    team: Room
    corner: Room


@pytest.fixture
async def people(served: Served) -> People:
    rooms = served.services.rooms
    ann = await account(served, "ann@example.org", "Ann Archer")
    ben = await account(served, "ben@example.org", "Ben Baker")
    cat = await account(served, "cat@example.org", "Cat Cole")
    dan = await account(served, "dan@example.org", "Dan Dyer")
    team = await rooms.create(ann, "Team")
    await rooms.set_member(ann, team.id, ben.email, "participant")
    team = await rooms.set_member(ann, team.id, dan.email, "participant")
    corner = await rooms.create(cat, "Corner")
    corner = await rooms.set_member(cat, corner.id, ann.email, "participant")
    return People(ann, ben, cat, dan, team, corner)


async def signed_in(chromium: Launch, served: Served, who: Account, path: str, **ctx: Any) -> Page:
    """A browser of its own with ``who``'s session cookie, at ``path`` (as test_panel's,
    but it waits for the document only: the expectations that follow wait for the rest,
    and a loaded machine may take long for every script and the camera)."""
    token = await served.services.accounts.issue_token(who, "session")
    page = await chromium(None, **ctx)
    await page.context.add_cookies(
        [{"name": "confero_session", "value": token, "url": served.base_url}]
    )
    await visit(page, served.base_url + path)
    return page


async def visit(page: Page, url: str) -> None:
    await page.goto(url, wait_until="domcontentloaded", timeout=LOADED)


#: The page's people socket got its ``welcome`` (it knows whose it is).
WELCOMED = "() => Boolean(window.conferoPeople && window.conferoPeople.snapshot().accountId)"

#: Record, every 50 ms, the presence one contact's dot shows (``window.__seen``).
WATCH_JS = """
(id) => {
  window.__seen = [];
  setInterval(() => {
    const dot = document.querySelector(`#contacts li.contact[data-account-id="${id}"] .presence`);
    window.__seen.push(dot ? dot.dataset.presence : 'none');
  }, 50);
}
"""


def contact(page: Page, who: Account) -> Locator:
    """``who``'s row in the /people page's list."""
    return page.locator(f'#contacts li.contact[data-account-id="{who.id}"]')


async def shows(page: Page, who: Account, presence: str, within: float = SOON) -> None:
    """The page's presence dot of ``who`` reads ``presence``; the call button is there
    exactly while ``who`` is online or busy."""
    row = contact(page, who)
    await expect(row.locator(".presence")).to_have_attribute(
        "data-presence", presence, timeout=within
    )
    call = row.locator("button.contact-call")
    if presence == "offline":
        await expect(call).to_be_hidden()
    else:
        await expect(call).to_be_visible()


def join_url(served: Served, room: Room) -> str:
    return f"{served.base_url}/join/{room.invite_token}"


async def enter(page: Page) -> None:
    """A signed-in account's join page: join with the account's name."""
    await page.wait_for_selector("#join:not([disabled])", timeout=JOINED)
    await page.click("#join")
    await expect(page.locator("#meeting")).to_be_visible(timeout=JOINED)


async def hang_up(page: Page) -> None:
    """The "Hang up" (``#leave``), opening the leave menu first when it hides there."""
    await page.click("#leave-menu")  # a click on the red button leaves (seed 000)


def say(key: str, **values: str) -> str:
    """The page's English text ``key`` with its ``{placeholders}`` filled in."""
    text = EN[key]
    for name, value in values.items():
        text = text.replace(f"{{{name}}}", value)
    return text


async def ring(caller: Page, callee: Account, *, waiting: bool = False) -> None:
    """``caller`` (on /people) presses ``callee``'s call button: its page shows ringing
    (and says so when the callee is in a meeting and sees a waiting call)."""
    await contact(caller, callee).locator("button.contact-call").click()
    await expect(caller.locator("#call-outgoing")).to_be_visible(timeout=SOON)
    text = say("call_ringing_waiting", name=callee.display_name) if waiting else EN["call_ringing"]
    await expect(caller.locator("#call-outgoing-status")).to_have_text(text, timeout=SOON)


async def rings(page: Page, caller: Account, *, waiting: bool = False) -> None:
    """Every page of the callee shows the incoming call with the caller's name."""
    dialog = page.locator("#call-incoming")
    await expect(dialog).to_be_visible(timeout=SOON)
    await expect(dialog).to_have_attribute("data-ringing", "true")
    await expect(page.locator("#call-incoming-name")).to_contain_text(caller.display_name)
    if waiting:
        await expect(dialog).to_have_class(re.compile(r"\bwaiting\b"))
        await expect(dialog).to_contain_text(say("call_incoming_waiting", name=caller.display_name))


#: Per page, bytes received: audio on the publish connection (the mix for us), video on
#: every watched stream; and the pictures decoded.
BYTES_JS = """
async () => {
  const c = window.confero;
  const out = {audio: 0, video: 0, frames: 0};
  if (!c) return out;
  if (c.publishPc) {
    (await c.publishPc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audio += s.bytesReceived || 0;
    });
  }
  for (const [, pc] of c.subscribePcs) {
    (await pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') {
        out.video += s.bytesReceived || 0;
        out.frames += s.framesDecoded || 0;
      }
    });
  }
  return out;
}
"""


async def received(page: Page) -> dict[str, int]:
    result: dict[str, int] = await page.evaluate(BYTES_JS)
    return result


async def media_flows(page: Page) -> None:
    """Audio and video bytes keep arriving (two samples a second apart both grow)."""
    first: dict[str, int] = {}

    async def started() -> bool:
        nonlocal first
        first = await received(page)
        return first["audio"] > 0 and first["video"] > 0 and first["frames"] > 0

    await eventually(started, 30)

    async def growing() -> bool:
        now = await received(page)
        return now["audio"] > first["audio"] and now["video"] > first["video"]

    await asyncio.sleep(1.0)
    await eventually(growing, 10)


async def refused(page: Page) -> None:
    """The join page of a call room that is not ours: whether it joins at once or waits
    for the button, the join is refused with ``call.not_yours`` and no meeting shows."""
    text = EN["err_call_not_yours"]
    clicked = False

    async def refusal_shown() -> bool:
        nonlocal clicked
        if text in await page.locator("body").inner_text():
            return True
        if not clicked and await page.locator("#join:not([disabled])").is_visible():
            await page.click("#join")
            clicked = True
        return False

    await eventually(refusal_shown, 20)
    assert not await page.locator("#meeting").is_visible()


# --------------------------------------------------------------------------- raw socket


class RawPeople:
    """A people socket made by hand (no browser): it pings like a page until told to
    stop, which is what a dropped network looks like to the server."""

    def __init__(self, served: Served, token: str | None) -> None:
        self.url = served.base_url.replace("http", "ws", 1) + "/ws/v1/people"
        self.cookie = f"confero_session={token}" if token else None
        self.ws: Any = None
        self.messages: list[dict[str, Any]] = []
        self.pinger: asyncio.Task[None] | None = None
        self.reader: asyncio.Task[None] | None = None
        self.sent = 0

    async def connect(self) -> dict[str, Any]:
        headers = {"Cookie": self.cookie} if self.cookie else None
        self.ws = await websockets.connect(self.url, additional_headers=headers)
        welcome = json.loads(await asyncio.wait_for(self.ws.recv(), 10))
        self.reader = asyncio.create_task(self._read())
        self.pinger = asyncio.create_task(self._ping())
        return dict(welcome)

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in self.ws:
                self.messages.append(json.loads(text))

    async def _ping(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            while True:
                await self.ws.send(json.dumps({"v": 1, "type": "ping"}))
                await asyncio.sleep(PING)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        """Send ``message`` with a fresh ref: the server's reply to it."""
        self.sent += 1
        ref = f"t{self.sent}"
        await self.ws.send(json.dumps({"v": 1, "ref": ref, **message}))
        replies: list[dict[str, Any]] = []

        def answered() -> bool:
            replies.extend(m for m in self.messages if m.get("ref") == ref)
            return bool(replies)

        await eventually(answered, 10)
        return replies[0]

    def stop_pinging(self) -> None:
        if self.pinger is not None:
            self.pinger.cancel()

    async def close(self) -> None:
        self.stop_pinging()
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            await self.reader


@pytest.fixture
async def raw_sockets() -> AsyncIterator[list[RawPeople]]:
    made: list[RawPeople] = []
    yield made
    for sock in made:
        await sock.close()


async def meeting_refusals(served: Served, room: Room) -> dict[str, str | None]:
    """A guest's hand-made meeting socket on ``room`` says hello and asks to join: the
    error code each request gets (None: it was not refused)."""
    answers: dict[str, str | None] = {}
    async with websockets.connect(served.ws_url(room)) as ws:
        for ref, message in (
            ("hello", {"type": "hello"}),
            ("join", {"type": "join", "name": "Mallory"}),
        ):
            await ws.send(json.dumps({"v": 1, "ref": ref, **message}))
            while ref not in answers:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 10))
                if reply.get("ref") == ref or (ref == "hello" and reply["type"] == "room"):
                    answers[ref] = reply.get("code") if reply["type"] == "error" else None
    return answers


async def close_code(served: Served, cookie: str | None) -> int | None:
    """Connect to the people socket with ``cookie`` (or none): the code it closes with."""
    url = served.base_url.replace("http", "ws", 1) + "/ws/v1/people"
    headers = {"Cookie": cookie} if cookie else None
    try:
        async with websockets.connect(url, additional_headers=headers) as ws:
            await asyncio.wait_for(ws.recv(), 10)
    except websockets.ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    except websockets.InvalidStatus as refused:
        return refused.response.status_code
    return None


# --------------------------------------------------------------------------- tests


async def test_presence_follows_pages_tabs_sign_out_and_a_dropped_socket(
    served: Served, people: People, chromium: Launch, raw_sockets: list[RawPeople]
) -> None:
    ann, ben, cat = people.ann, people.ben, people.cat
    page = await signed_in(chromium, served, ann, "/people")
    await expect(contact(page, ben)).to_be_visible(timeout=SOON)
    await expect(contact(page, ben)).to_contain_text(ben.display_name)
    await shows(page, ben, "offline")
    await shows(page, cat, "offline")

    # Ben opens a page: online, and only he has a call button.
    ben_rooms = await signed_in(chromium, served, ben, "/rooms")
    await shows(page, ben, "online")
    await shows(page, cat, "offline")

    # The context menu (right-click) offers the call only while the contact is online.
    await contact(page, ben).click(button="right")
    await expect(page.locator("#contact-menu")).to_be_visible()
    await expect(page.locator("#contact-menu-call")).to_be_visible()
    await page.keyboard.press("Escape")
    await expect(page.locator("#contact-menu")).to_be_hidden()
    await contact(page, cat).click(button="right")
    await expect(page.locator("#contact-menu")).to_be_visible()
    await expect(page.locator("#contact-menu-call")).to_be_hidden()
    await page.keyboard.press("Escape")

    # Two tabs are one person: closing one keeps him online, past the presence timeout.
    ben_people = await ben_rooms.context.new_page()
    await visit(ben_people, f"{served.base_url}/people")
    await ben_people.wait_for_function(WELCOMED, timeout=SOON)
    await page.evaluate(WATCH_JS, ben.id)
    await ben_rooms.close()
    await page.wait_for_timeout(PRESENCE_TIMEOUT * 1000 + 800)
    await shows(page, ben, "online", within=100)
    seen = await page.evaluate("() => window.__seen")
    assert seen and set(seen) == {"online"}, f"Ben never looked gone: {seen}"
    await ben_people.close()
    await shows(page, ben, "offline")

    # Signing out makes him offline although the page stays open.
    ben_again = await signed_in(chromium, served, ben, "/people")
    await shows(page, ben, "online")
    await ben_again.click("#sign-out")
    await shows(page, ben, "offline")

    # A dropped socket: Cat's hand-made page pings and stays online past the timeout,
    # then goes quiet without closing; Ann's page shows her offline within the timeout.
    sock = RawPeople(served, await served.services.accounts.issue_token(cat, "session"))
    raw_sockets.append(sock)
    welcome = await sock.connect()
    assert welcome["type"] == "welcome"
    assert welcome["account_id"] == cat.id
    assert welcome["ping"] == PING
    assert [c["account_id"] for c in welcome["contacts"]] == [ann.id]
    assert welcome["contacts"][0]["presence"] == "online"
    await shows(page, cat, "online")
    await page.wait_for_timeout(PRESENCE_TIMEOUT * 1000 + 800)
    await shows(page, cat, "online", within=100)
    loop = asyncio.get_running_loop()
    sock.stop_pinging()
    quiet = loop.time()
    await shows(page, cat, "offline", within=(PRESENCE_TIMEOUT + 5) * 1000)
    gone_after = loop.time() - quiet
    assert gone_after > PRESENCE_TIMEOUT - PING - 0.5, "offline by the timeout, not a close"


async def test_call_accept_talk_and_hang_up_ends_it_for_both(
    served: Served,
    people: People,
    chromium: Launch,
    raw_sockets: list[RawPeople],
) -> None:
    ann, ben, cat = people.ann, people.ben, people.cat
    caller = await signed_in(chromium, served, ann, "/people", tone_hz=440)
    callee = await signed_in(chromium, served, ben, "/rooms", tone_hz=660)
    await shows(caller, ben, "online")

    await ring(caller, ben)
    await rings(callee, ann)
    await callee.click("#call-accept")
    for page in (caller, callee):
        await page.wait_for_url(CALL_URL, timeout=JOINED)
        await expect(page.locator("#meeting")).to_be_visible(timeout=JOINED)
    assert caller.url == callee.url, "both sides join the same call room"
    token = caller.url.split("/join/", 1)[1].split("?", 1)[0]
    room = await served.services.rooms.by_invite_token(token)
    assert room is not None
    assert str(room.kind) == "call"
    assert room.capacity == 2
    assert room.id not in {r.id for r in await served.services.rooms.list(ann)}, "never listed"

    # They hear and see each other: bytes keep arriving, each hears the other's tone.
    await media_flows(caller)
    await media_flows(callee)
    await eventually(lambda: hears(caller, 660), 20)
    await eventually(lambda: hears(callee, 440), 20)

    # A third account with the link is refused; so is a guest (a hand-made meeting
    # socket: its hello and its join), and so is the third account's answer to the
    # guessed call id.
    stranger = await signed_in(chromium, served, cat, caller.url.split(served.base_url, 1)[1])
    await refused(stranger)
    assert await meeting_refusals(served, room) == {
        "hello": "call.not_yours",
        "join": "call.not_yours",
    }
    call_id = caller.url.rsplit("call=", 1)[1].split("&", 1)[0]
    sock = RawPeople(served, await served.services.accounts.issue_token(cat, "session"))
    raw_sockets.append(sock)
    await sock.connect()
    answer = await sock.request({"type": "call_accept", "call_id": call_id})
    assert answer["type"] == "error"
    assert answer["code"] == "call.not_yours"
    assert len(served.services.conferences.snapshot(room)["participants"]) == 2

    # Ben hangs up: the call ends on both pages.
    await expect(callee.locator("#leave")).to_contain_text(EN["call_hang_up"])
    await hang_up(callee)
    await expect(callee.locator("#ended")).to_be_visible(timeout=SOON)
    await expect(caller.locator("#ended")).to_be_visible(timeout=SOON)
    await expect(caller.locator("#ended-reason")).to_have_text(EN["ended_call_ended"])
    await expect(callee.locator("#ended-reason")).to_have_text(
        re.compile(f"^({re.escape(EN['ended_call_ended'])}|{re.escape(EN['left'])})$")
    )
    await eventually(lambda: not served.services.conferences.snapshot(room)["running"], 10)


async def test_decline_no_answer_cancel_and_busy(
    served: Served, people: People, chromium: Launch
) -> None:
    ann, ben = people.ann, people.ben
    caller = await signed_in(chromium, served, ann, "/people")
    callee = await signed_in(chromium, served, ben, "/rooms")
    status = caller.locator("#call-outgoing-status")
    incoming = callee.locator("#call-incoming")

    # Declined.
    await shows(caller, ben, "online")
    await ring(caller, ben)
    await rings(callee, ann)
    await callee.click("#call-decline")
    await expect(incoming).to_be_hidden(timeout=SOON)
    await expect(status).to_have_text(say("call_declined", name=ben.display_name), timeout=SOON)
    await expect(caller.locator("#call-cancel")).to_be_hidden()
    await caller.click("#call-outgoing-close")
    await expect(caller.locator("#call-outgoing")).to_be_hidden()

    # No answer after the ring timeout; Ben finds it among his missed calls.
    loop = asyncio.get_running_loop()
    await ring(caller, ben)
    started = loop.time()
    await rings(callee, ann)
    await expect(status).to_have_text(
        say("call_no_answer", name=ben.display_name), timeout=(RING_TIMEOUT + 7) * 1000
    )
    assert loop.time() - started > RING_TIMEOUT - 1, "rang for the ring timeout"
    await expect(incoming).to_be_hidden(timeout=SOON)
    missed = callee.locator("#missed .missed-item")
    await expect(missed).to_have_count(1, timeout=SOON)
    await expect(missed).to_contain_text(say("call_missed_call", name=ann.display_name))
    await caller.click("#call-outgoing-close")

    # Cancelled by the caller: the callee stops ringing.
    await ring(caller, ben)
    await rings(callee, ann)
    await caller.click("#call-cancel")
    await expect(caller.locator("#call-outgoing")).to_be_hidden()
    await expect(incoming).to_be_hidden(timeout=SOON)

    # Busy: Ben is in a meeting (Ann's list follows); the call waits, he declines, and
    # Ann hears "busy".
    await visit(callee, join_url(served, people.team))
    await enter(callee)
    await shows(caller, ben, "busy")
    await ring(caller, ben, waiting=True)
    await rings(callee, ann, waiting=True)
    await callee.click("#call-decline")
    await expect(incoming).to_be_hidden(timeout=SOON)
    await expect(status).to_have_text(say("call_busy", name=ben.display_name), timeout=SOON)
    assert await callee.locator("#meeting").is_visible(), "Ben stays in his meeting"


async def test_both_tabs_ring_and_accepting_on_one_stops_the_other(
    served: Served, people: People, chromium: Launch
) -> None:
    ann, ben = people.ann, people.ben
    caller = await signed_in(chromium, served, ann, "/people")
    tab1 = await signed_in(chromium, served, ben, "/rooms")
    tab2 = await tab1.context.new_page()
    await visit(tab2, f"{served.base_url}/people")
    await shows(caller, ben, "online")

    await ring(caller, ben)
    await rings(tab1, ann)
    await rings(tab2, ann)
    await tab2.click("#call-accept")
    await expect(tab1.locator("#call-incoming")).to_be_hidden(timeout=SOON)
    await expect(tab1.locator("#call-incoming")).to_have_attribute("data-ringing", "false")
    assert "/join/" not in tab1.url, "the other tab stays where it was"
    for page in (tab2, caller):
        await page.wait_for_url(CALL_URL, timeout=JOINED)
        await expect(page.locator("#meeting")).to_be_visible(timeout=JOINED)


async def test_call_everyone_pops_up_on_the_members_pages(
    served: Served, people: People, chromium: Launch
) -> None:
    ann, ben, cat, dan = people.ann, people.ben, people.cat, people.dan
    team = people.team
    # Ann runs the Team meeting in one tab and calls everyone from My rooms in another.
    meeting = await signed_in(chromium, served, ann, f"/join/{team.invite_token}")
    await enter(meeting)
    panel = await meeting.context.new_page()
    await visit(panel, f"{served.base_url}/rooms")
    ben_page = await signed_in(chromium, served, ben, "/people")
    cat_page = await signed_in(chromium, served, cat, "/rooms")

    members = card(panel, "Team").locator(".room-members")
    dot = 'li.member[data-account-id="{}"] .presence'
    await expect(members.locator(dot.format(ben.id))).to_have_attribute(
        "data-presence", "online", timeout=SOON
    )
    await expect(members.locator(dot.format(dan.id))).to_have_attribute("data-presence", "offline")

    await card(panel, "Team").locator(".room-call-everyone").click()
    await expect(panel.locator("#confirm-text")).to_be_visible()
    await panel.click("#confirm-ok")

    popup = ben_page.locator("#gathering")
    await expect(popup).to_be_visible(timeout=SOON)
    await expect(ben_page.locator("#gathering-text")).to_have_text(
        say("call_gathering", caller=ann.display_name, room="Team")
    )
    # Cat is Ann's contact and online, but no member of Team: no pop-up for her.
    await cat_page.wait_for_timeout(1000)
    await expect(cat_page.locator("#gathering")).to_be_hidden(timeout=100)

    await ben_page.click("#gathering-join")
    await ben_page.wait_for_url(GATHER_URL, timeout=JOINED)
    await expect(ben_page.locator("#meeting")).to_be_visible(timeout=JOINED)
    await eventually(lambda: len(served.services.conferences.snapshot(team)["participants"]) == 2)
    await expect(meeting.locator("#participants .participant")).to_have_count(2, timeout=SOON)

    # Dan was offline: his next visit shows the missed call, until he dismisses it.
    dan_page = await signed_in(chromium, served, dan, "/rooms")
    missed = dan_page.locator("#missed .missed-item")
    await expect(missed).to_have_count(1, timeout=SOON)
    await expect(missed).to_contain_text(
        say("call_missed_gather", name=ann.display_name, room="Team")
    )
    await missed.locator("button", has_text=EN["call_missed_dismiss"]).click()
    await expect(missed).to_have_count(0, timeout=SOON)
    await dan_page.reload()
    await dan_page.wait_for_timeout(1500)  # the socket's welcome brings the missed list
    await expect(missed).to_have_count(0)


async def test_a_guest_gets_no_people_socket(
    served: Served, people: People, chromium: Launch
) -> None:
    guest = await chromium(join_url(served, people.team))
    await guest.wait_for_selector("#join:not([disabled])", timeout=SOON)
    assert await guest.locator('script[src*="people.js"]').count() == 0
    code = await guest.evaluate(
        """() => new Promise(resolve => {
          const ws = new WebSocket(`ws://${location.host}/ws/v1/people`);
          ws.onclose = (e) => resolve(e.code);
        })"""
    )
    assert code == 4401
    assert await close_code(served, None) == 4401
    assert await close_code(served, "confero_session=not-a-token") == 4401
