"""Browser meetings in Debian's Chromium, driven like a user would: the real pages, real
WebRTC to our server, fake camera and microphone (F-WB1, F-WB2, F-WB5, F-EN1..F-EN8)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from playwright.async_api import Page

from confero.app.services import Services
from confero.domain.rooms import Room
from tests.e2e.chromium import Launch
from tests.phone.support import eventually
from tests.webrtc.support import Served

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

#: Per page: audio packets received on the publish connection, and frames decoded per
#: watched stream.
STATS_JS = """
async () => {
  const c = window.confero;
  const out = {audio: 0, video: {}, state: c.publishPc ? c.publishPc.connectionState : 'none'};
  if (c.publishPc) {
    (await c.publishPc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audio += s.packetsReceived;
    });
  }
  for (const [id, pc] of c.subscribePcs) {
    (await pc.getStats()).forEach(s => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') out.video[id] = s.framesDecoded || 0;
    });
  }
  return out;
}
"""


async def stats(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(STATS_JS)
    return result


async def host_page(chromium: Launch, served: Served, room: Room, **kw: Any) -> Page:
    owner = await served.services.accounts.by_email("host@example.org")
    assert owner is not None
    token = await served.services.accounts.issue_token(owner, "session")
    page = await chromium(None, **kw)
    await page.context.add_cookies(
        [{"name": "confero_session", "value": token, "url": served.base_url}]
    )
    await page.goto(invite(served, room))
    return page


def invite(served: Served, room: Room) -> str:
    return f"{served.base_url}/join/{room.invite_token}"


async def enter(page: Page, name: str | None = None) -> None:
    await page.wait_for_selector("#join:not([disabled])")
    if name is not None:
        await page.fill("#name", name)
    await page.click("#join")
    await page.wait_for_selector("#meeting", state="visible")


async def host_and_ann(chromium: Launch, served: Served, room: Room) -> tuple[Page, Page]:
    """The signed-in owner and a guest, Ann, both in the meeting."""
    host = await host_page(chromium, served, room)
    await enter(host)
    ann = await chromium(invite(served, room))
    await enter(ann, "Ann")
    return host, ann


async def count_participants(page: Page) -> int:
    return await page.locator("#participants .participant").count()


async def test_three_browsers_see_and_hear_each_other(
    served: Served, room: Room, chromium: Launch
) -> None:
    host = await host_page(chromium, served, room)
    await page_ready(host)
    if os.environ.get("CONFERO_SCREENSHOTS"):
        DOCS.mkdir(parents=True, exist_ok=True)
        await host.wait_for_function("() => document.querySelector('#preview').readyState >= 2")
        await host.wait_for_timeout(1500)  # the microphone meter moves, the fake camera turns
        await host.screenshot(path=str(DOCS / "prejoin.png"), full_page=True)
    await enter(host)
    ann = await chromium(invite(served, room))
    await enter(ann, "Ann")
    bob = await chromium(invite(served, room))
    await enter(bob, "Bob")
    pages = [host, ann, bob]

    async def everyone_sees_everyone() -> bool:
        for page in pages:
            s = await stats(page)
            if s["audio"] < 50 or len(s["video"]) != 2:
                return False
            if any(frames < 10 for frames in s["video"].values()):
                return False
        return True

    await eventually(everyone_sees_everyone, 30)
    for page in pages:
        assert await count_participants(page) == 3
    assert await host.locator("#participants .participant.moderator").count() == 1
    if os.environ.get("CONFERO_SCREENSHOTS"):
        await host.screenshot(path=str(DOCS / "meeting.png"))


async def page_ready(page: Page) -> None:
    await page.wait_for_selector("#prejoin", state="visible")
    await page.wait_for_selector("#join:not([disabled])")


async def test_chat_and_raised_hand_reach_the_others(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    await ann.fill("#chat-input", "Hello from Ann")
    await ann.click("#chat-send")
    await host.wait_for_selector("#chat-messages .chat-message:has-text('Hello from Ann')")
    # Ann is a guest: her name is marked, the host's is not (issue 14).
    marked = "#chat-messages .chat-message:has-text('Hello from Ann') .chat-guest"
    assert await host.locator(marked).inner_text() == "guest"
    await host.fill("#chat-input", "Hello from the host")
    await host.click("#chat-send")
    mine = "#chat-messages .chat-message:has-text('Hello from the host')"
    await ann.wait_for_selector(mine)
    assert await ann.locator(f"{mine} .chat-guest").count() == 0
    await ann.click("#hand-toggle")
    await host.wait_for_selector("#participants .participant.hand")


async def test_locked_room_knock_and_admit(served: Served, room: Room, chromium: Launch) -> None:
    host = await host_page(chromium, served, room)
    await enter(host)
    await host.click("#lock-toggle")
    await eventually(lambda: _locked(served, room))
    guest = await chromium(invite(served, room))
    await guest.wait_for_selector("#join:not([disabled])")
    await guest.fill("#name", "Knocker")
    await guest.click("#join")
    await guest.wait_for_selector("#lobby-wait", state="visible")
    knocker = host.locator("#lobby-list .knocker")
    await knocker.first.wait_for()
    await knocker.first.locator(".admit").click()
    await guest.wait_for_selector("#meeting", state="visible")
    await eventually(lambda: _count(host, 2), 10)


def _locked(served: Served, room: Room) -> bool:
    return bool(served.services.conferences.snapshot(room)["locked"])


async def _count(page: Page, n: int) -> bool:
    return await count_participants(page) == n


async def test_end_for_everyone_stops_every_page(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    await eventually(lambda: _count(host, 2), 10)
    await host.hover("#leave-menu")  # seed 000: hovering shows the three options
    await host.click("#end-all")
    assert "2" in (await host.locator("#confirm-text").inner_text())
    await host.click("#confirm-ok")
    for page in (host, ann):
        await page.wait_for_selector("#ended", state="visible")
        state = await page.evaluate(
            "() => window.confero.publishPc ? window.confero.publishPc.connectionState : 'closed'"
        )
        assert state == "closed", "media stops"
    assert served.node.engine.leg_count() == 0
    assert not served.services.conferences.snapshot(room)["running"]


async def test_end_for_everyone_except_me_keeps_the_host(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    await eventually(lambda: _count(host, 2), 10)
    await host.hover("#leave-menu")
    await host.click("#end-all-but-me")
    await host.click("#confirm-ok")
    await ann.wait_for_selector("#ended", state="visible")
    await eventually(lambda: _count(host, 1), 10)
    assert await host.locator("#meeting").is_visible()
    assert served.node.engine.leg_count() == 1


async def test_reset_removes_chat_and_activity(
    served: Served, room: Room, chromium: Launch, services: Services
) -> None:
    host = await host_page(chromium, served, room)
    await enter(host)
    await host.fill("#chat-input", "to be forgotten")
    await host.click("#chat-send")
    await host.wait_for_selector("#chat-messages .chat-message")
    await host.click("#settings")
    await host.click("#reset-room")
    await host.click("#confirm-ok")
    await host.wait_for_selector("#ended", state="visible")
    await eventually(lambda: _empty_room(services, room), 10)
    await host.wait_for_selector("#chat-messages .chat-message", state="detached")


async def _empty_room(services: Services, room: Room) -> bool:
    """No chat, and a log that holds only the reset itself (F-EN4, seed 000)."""
    chat = await services.rooms.list_chat(room.id)
    activity = await services.rooms.list_activity(room.id)
    return not chat and [a.kind for a in activity] == ["room_reset"]


async def test_host_leaves_and_returns_while_others_stay(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    await eventually(lambda: _count(ann, 2), 10)
    await host.hover("#leave-menu")
    await host.click("#leave")
    await host.wait_for_selector("#ended", state="visible")
    await eventually(lambda: _count(ann, 1), 10)
    assert await ann.locator("#meeting").is_visible(), "the others stay (F-EN6)"
    await host.click("#rejoin")
    await host.wait_for_selector("#meeting", state="visible")
    await eventually(lambda: _count(ann, 2), 10)
    assert await host.locator("#lock-toggle").is_visible(), "still the moderator"


async def test_reload_keeps_the_participant_and_role(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    await eventually(lambda: _count(host, 2), 10)
    before = await host.evaluate("() => window.confero.state.participantId")
    await host.reload()
    await host.wait_for_selector("#meeting", state="visible")
    assert await host.evaluate("() => window.confero.state.participantId") == before
    assert await host.locator("#lock-toggle").is_visible()
    assert await count_participants(ann) == 2, "Ann never saw the host leave"


async def test_a_guest_page_cannot_moderate(served: Served, room: Room, chromium: Launch) -> None:
    host = await host_page(chromium, served, room)
    await enter(host)
    guest = await chromium(invite(served, room))
    await enter(guest, "Mallory")
    assert not await guest.locator("#end-all").is_visible()
    # A hand-made socket from the guest's page: the server refuses, whatever the UI shows.
    url = served.ws_url(room)
    code = await guest.evaluate(
        """async (url) => {
          const ws = new WebSocket(url);
          const next = () => new Promise(r => ws.onmessage = e => r(JSON.parse(e.data)));
          await new Promise(r => ws.onopen = r);
          ws.send(JSON.stringify({v: 1, type: 'hello'})); await next();
          ws.send(JSON.stringify({v: 1, type: 'join', name: 'Mallory 2'}));
          let m; do { m = await next(); } while (m.type !== 'welcome');
          ws.send(JSON.stringify({v: 1, type: 'command', command: 'end_for_all', ref: 'x'}));
          do { m = await next(); } while (m.ref !== 'x');
          return m.code;
        }""",
        url,
    )
    assert code == "conference.moderator_only"
    assert served.services.conferences.snapshot(room)["running"]
    assert await host.locator("#meeting").is_visible()


async def test_a_guest_who_left_a_locked_room_rejoins_without_knocking(
    served: Served, room: Room, chromium: Launch
) -> None:
    host = await host_page(chromium, served, room)
    await enter(host)
    await host.click("#lock-toggle")
    await eventually(lambda: _locked(served, room))
    guest = await chromium(invite(served, room))
    await guest.wait_for_selector("#join:not([disabled])")
    await guest.fill("#name", "Ann")
    await guest.click("#join")
    await host.locator("#lobby-list .knocker .admit").first.click()
    await guest.wait_for_selector("#meeting", state="visible")
    await guest.click("#leave-menu")  # a click on the red button itself leaves
    await guest.wait_for_selector("#ended", state="visible")
    await eventually(lambda: _count(host, 1), 10)
    await guest.click("#rejoin")
    await guest.wait_for_selector("#meeting", state="visible", timeout=10_000)
    assert await host.locator("#lobby-list .knocker").count() == 0, "no knock the second time"
    await eventually(lambda: _count(host, 2), 10)
    await eventually(lambda: _hears_audio(guest), 15)


async def _hears_audio(page: Page) -> bool:
    return (await stats(page))["audio"] > 20


async def test_screen_share_and_camera_off_reach_the_others(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    await eventually(lambda: _watching(ann, 1), 15)
    await host.click("#screen-toggle")
    await ann.wait_for_selector("#tiles .tile.screen video")
    await eventually(lambda: _watching(ann, 2), 15)
    await host.click("#screen-toggle")
    await ann.wait_for_selector("#tiles .tile.screen", state="detached")
    await host.click("#camera-toggle")
    await eventually(lambda: _watching(ann, 0), 10)
    await host.click("#camera-toggle")
    await eventually(lambda: _watching(ann, 1), 15)


async def _watching(page: Page, n: int) -> bool:
    """``n`` streams are watched and each has decoded a picture (a still screen sends
    few frames: only when it changes)."""
    s = await stats(page)
    return len(s["video"]) == n and all(frames >= 1 for frames in s["video"].values())


async def test_moderator_mutes_and_removes_one_person(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    row = host.locator("#participants .participant:not(.self)")
    await row.wait_for()
    await row.locator(".mute").click()
    await host.wait_for_selector("#participants .participant.muted:not(.self)")
    await ann.wait_for_selector("#mic-toggle.off")
    await row.locator(".remove").click()
    await host.click("#confirm-ok")
    await ann.wait_for_selector("#ended", state="visible")
    assert "removed" in (await ann.locator("#ended-reason").inner_text()).lower()
    await eventually(lambda: _count(host, 1), 10)
    assert served.node.engine.leg_count() == 1


async def test_mute_all_shows_on_every_page_and_unmute_all_lifts_it(
    served: Served, room: Room, chromium: Launch
) -> None:
    """The host's list learns whom mute-all muted from the one ``all_mute_changed`` (the
    per-person ``mute_changed`` goes to that person alone); Ann's microphone goes off."""
    host, ann = await host_and_ann(chromium, served, room)
    await host.locator("#participants .participant:not(.self)").wait_for()
    await host.click("#mute-all")
    await host.wait_for_selector("#participants .participant.muted:not(.self)")
    await ann.wait_for_selector("#mic-toggle.off")
    await host.click("#unmute-all")
    await host.wait_for_selector("#participants .participant:not(.self):not(.muted)")
    await ann.wait_for_selector("#mic-toggle:not(.off)")


async def test_keyboard_shortcuts_and_speaker_view(
    served: Served, room: Room, chromium: Launch
) -> None:
    host, ann = await host_and_ann(chromium, served, room)
    await ann.locator("#meeting").click(position={"x": 5, "y": 5})  # focus the page
    await ann.keyboard.press("m")
    await host.wait_for_selector("#participants .participant.muted:not(.self)")
    await ann.keyboard.press("h")
    await host.wait_for_selector("#participants .participant.hand:not(.self)")
    await ann.keyboard.press("v")
    await eventually(lambda: _watching(host, 0), 10)
    await ann.locator("#chat-input").press_sequentially("m")  # typing is not a shortcut
    await host.wait_for_timeout(700)  # what a toggle's round trip would take, and more
    assert await host.locator("#participants .participant.muted:not(.self)").count() == 1
    assert await ann.locator("#mic-toggle.off").count() == 1
    await host.click("#view-toggle")
    await host.wait_for_selector("#tiles.speaker-view")
    await host.click("#view-toggle")
    await host.wait_for_selector("#tiles.tile-view")


OUTBOUND_AUDIO_JS = """
async () => {
  let sent = 0;
  const pc = window.confero.publishPc;
  if (pc) (await pc.getStats()).forEach(s => {
    if (s.type === 'outbound-rtp' && s.kind === 'audio') sent += s.packetsSent;
  });
  return sent;
}
"""


async def test_a_silent_microphone_sends_opus_dtx_not_fifty_packets_a_second(
    served: Served, room: Room, chromium: Launch
) -> None:
    """Issue 15 P2: our answer asks for DTX (``usedtx=1``), so a browser whose
    microphone is silent sends a packet every few hundred ms; one that talks sends 50
    a second. Counted by Chromium itself (``getStats``)."""
    quiet = await chromium(invite(served, room), tone_hz=0)
    await enter(quiet, "Quiet")
    talker = await chromium(invite(served, room), tone_hz=440)
    await enter(talker, "Talker")

    async def sending() -> bool:
        return bool(await quiet.evaluate(OUTBOUND_AUDIO_JS)) and bool(
            await talker.evaluate(OUTBOUND_AUDIO_JS)
        )

    await eventually(sending, 20)
    await quiet.wait_for_timeout(1000)  # past the start of the stream
    quiet0 = await quiet.evaluate(OUTBOUND_AUDIO_JS)
    talker0 = await talker.evaluate(OUTBOUND_AUDIO_JS)
    await quiet.wait_for_timeout(3000)
    quiet_sent = await quiet.evaluate(OUTBOUND_AUDIO_JS) - quiet0
    talker_sent = await talker.evaluate(OUTBOUND_AUDIO_JS) - talker0
    assert talker_sent > 120, talker_sent  # ~150 in 3 s
    assert quiet_sent < 40, quiet_sent  # DTX: ~8 in 3 s
