"""Whiteboards in Debian's Chromium (issue 12, F-RC1): two real pages on a served node.
A stroke drawn on one appears on the other within a second (the target is 200 ms on
loopback) and is there after a reload; strokes drawn at the same time on both converge
to the same board; undo removes only one's own; every tool draws what the server
stores; exports are a real PNG and SVG; a member draws before joining; a guest outside
the meeting gets no board."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from playwright.async_api import Page, expect

from confero.domain.rooms import Room
from tests.e2e.chromium import Launch
from tests.e2e.test_browser_meeting import enter, host_page, invite
from tests.phone.support import eventually
from tests.webrtc.support import Served

SOON = 10_000

SNAPSHOT = "() => window.conferoBoard.snapshot()"


async def snapshot(page: Page) -> dict[str, Any]:
    result: dict[str, Any] = await page.evaluate(SNAPSHOT)
    return result


async def item_ids(page: Page) -> list[str]:
    return [item["id"] for item in (await snapshot(page))["items"]]


async def open_board(page: Page, button: str = "#board-toggle") -> None:
    await page.click(button)
    await expect(page.locator("#board-canvas")).to_be_visible(timeout=SOON)


async def new_board(page: Page) -> str:
    await page.click("#board-new")
    await page.wait_for_function(
        "() => { const s = window.conferoBoard.snapshot(); return s.board && s.board.seq === 0 }",
        timeout=SOON,
    )
    return str((await snapshot(page))["board"]["id"])


async def showing(page: Page, board_id: str) -> None:
    await page.wait_for_function(
        "(id) => window.conferoBoard.snapshot().board?.id === id", arg=board_id, timeout=SOON
    )


async def drag(page: Page, points: Sequence[tuple[float, float]], steps: int = 4) -> None:
    """Press, move through ``points`` (board units) and release."""
    client = [
        await page.evaluate("([x, y]) => window.conferoBoard.toClient(x, y)", p) for p in points
    ]
    await page.mouse.move(*client[0])
    await page.mouse.down()
    for x, y in client[1:]:
        await page.mouse.move(x, y, steps=steps)
    await page.mouse.up()


async def settled(page: Page) -> dict[str, Any]:
    """The page's board once nothing it sent waits for an answer."""
    await page.wait_for_function("() => window.conferoBoard.snapshot().pending === 0", timeout=SOON)
    return await snapshot(page)


async def two_in_meeting(chromium: Launch, served: Served, room: Room) -> tuple[Page, Page]:
    host = await host_page(chromium, served, room)
    await enter(host)
    ann = await chromium(invite(served, room))
    await enter(ann, "Ann")
    return host, ann


async def test_a_stroke_appears_on_the_other_page_at_once_and_after_a_reload(
    chromium: Launch, served: Served, room: Room
) -> None:
    host, ann = await two_in_meeting(chromium, served, room)
    await open_board(host)
    board_id = await new_board(host)
    # the board is a tile, on stage in speaker view
    await expect(host.locator('#tiles .tile.board-tile.stage[data-id="board"]')).to_be_visible()
    await open_board(ann)
    await showing(ann, board_id)

    await ann.evaluate(
        """() => {
          window.__seenAt = null;
          const tick = () => {
            if (window.conferoBoard.snapshot().items.length) window.__seenAt = performance.now();
            else requestAnimationFrame(tick);
          };
          tick();
        }"""
    )
    await drag(host, [(100, 100), (140, 120), (180, 160), (220, 150)])
    released = await ann.evaluate("() => performance.now()")
    await ann.wait_for_function("() => window.__seenAt !== null", timeout=SOON)
    delay_ms = await ann.evaluate("() => window.__seenAt") - released
    assert delay_ms < 1000, f"the stroke took {delay_ms:.0f} ms to show"
    [stroke] = (await settled(ann))["items"]
    assert stroke["shape"] == "pen" and len(stroke["points"]) >= 4
    assert (await settled(host))["items"] == [stroke]

    # a reload rejoins (resume token); the board comes back from the server
    await ann.reload()
    await ann.wait_for_selector("#meeting", state="visible", timeout=60_000)
    await open_board(ann)
    await showing(ann, board_id)
    assert (await settled(ann))["items"] == [stroke]
    state = await served.services.boards.state(room.id, board_id)
    assert state["items"] == [stroke]


async def test_simultaneous_strokes_converge(chromium: Launch, served: Served, room: Room) -> None:
    host, ann = await two_in_meeting(chromium, served, room)
    await open_board(host)
    board_id = await new_board(host)
    await open_board(ann)
    await showing(ann, board_id)

    async def scribble(page: Page, y0: float) -> None:
        for n in range(6):
            y = y0 + n * 12
            await drag(page, [(60, y), (120, y + 30), (200, y - 10), (260, y + 5)], steps=2)

    await asyncio.gather(scribble(host, 80), scribble(ann, 90))
    # and both erase and move at once: the same item, even
    await host.evaluate("() => window.conferoBoard.setTool('eraser')")
    await ann.evaluate("() => window.conferoBoard.setTool('select')")
    await asyncio.gather(
        drag(host, [(120, 110), (120, 112)]),
        drag(ann, [(60, 90), (90, 140)]),
    )

    async def same() -> bool:
        a, b = await settled(host), await settled(ann)
        return bool(a["board"]["seq"] == b["board"]["seq"] and a["items"] == b["items"])

    await eventually(same)
    final = await snapshot(host)
    assert len(final["items"]) >= 6  # 12 strokes, a few erased
    stored = await served.services.boards.state(room.id, board_id)
    assert stored["items"] == final["items"] and stored["seq"] == final["board"]["seq"]
    assert (await snapshot(ann))["items"] == final["items"]


async def test_undo_removes_only_ones_own_and_redo_puts_it_back(
    chromium: Launch, served: Served, room: Room
) -> None:
    host, ann = await two_in_meeting(chromium, served, room)
    await open_board(host)
    board_id = await new_board(host)
    await open_board(ann)
    await showing(ann, board_id)

    await drag(host, [(50, 50), (150, 60), (200, 90)])
    await settled(host)
    await drag(ann, [(50, 200), (150, 210), (200, 240)])
    await settled(ann)
    await drag(ann, [(50, 300), (150, 310), (200, 340)])
    await settled(ann)
    await eventually(lambda: _count(host, 3))
    host_item, ann_first, ann_second = await item_ids(host)

    await host.click("#board-undo")  # the host's only stroke: Ann's stay
    await eventually(lambda: _ids(ann, [ann_first, ann_second]))
    await eventually(lambda: _ids(host, [ann_first, ann_second]))
    await expect(host.locator("#board-undo")).to_be_disabled()

    await ann.click("#board-undo")  # Ann's last stroke only
    await eventually(lambda: _ids(host, [ann_first]))
    await ann.click("#board-redo")
    await eventually(lambda: _ids(host, [ann_first, ann_second]))
    await host.click("#board-redo")
    await eventually(lambda: _ids(ann, [ann_first, ann_second, host_item]))
    # an erase is undone by putting the items back as they were
    await ann.evaluate("() => window.conferoBoard.setTool('eraser')")
    await drag(ann, [(150, 205), (150, 215)])
    await eventually(lambda: _ids(host, [ann_second, host_item]))
    await ann.click("#board-undo")
    await eventually(lambda: _ids(host, [ann_second, host_item, ann_first]))
    stored = await served.services.boards.state(room.id, board_id)
    assert [i["id"] for i in stored["items"]] == [ann_second, host_item, ann_first]


async def _count(page: Page, n: int) -> bool:
    snap = await snapshot(page)
    return len(snap["items"]) == n and snap["pending"] == 0


async def _ids(page: Page, ids: list[str]) -> bool:
    snap = await snapshot(page)
    return [i["id"] for i in snap["items"]] == ids and snap["pending"] == 0


async def test_a_member_draws_every_tool_before_joining_and_exports(
    chromium: Launch, served: Served, room: Room
) -> None:
    host = await host_page(chromium, served, room)
    await host.wait_for_selector("#join:not([disabled])")
    await open_board(host, "#board-prejoin")
    board_id = await new_board(host)

    for tool, points in [
        ("line", [(20, 20), (120, 40)]),
        ("rect", [(150, 20), (250, 90)]),
        ("ellipse", [(280, 20), (380, 90)]),
        ("arrow", [(20, 140), (160, 200)]),
    ]:
        await host.click(f'[data-tool="{tool}"]')
        await drag(host, points)
    await host.click('[data-tool="text"]')
    x, y = await host.evaluate("() => window.conferoBoard.toClient(200, 150)")
    await host.mouse.click(x, y)
    await host.locator("#board-text").fill("Hello <board> & co")
    await host.keyboard.press("Enter")
    await host.click('[data-tool="pen"]')
    await host.fill("#board-color", "#ff0000")
    await drag(host, [(20, 250), (80, 270), (140, 250)])
    snap = await settled(host)
    shapes = [i["shape"] for i in snap["items"]]
    assert shapes == ["line", "rect", "ellipse", "arrow", "text", "pen"]
    assert snap["items"][4]["text"] == "Hello <board> & co"
    assert snap["items"][5]["color"] == "#ff0000"

    # select and move the rectangle; erase the line
    await host.click('[data-tool="select"]')
    await drag(host, [(150, 55), (190, 75)])
    await host.click('[data-tool="eraser"]')
    await drag(host, [(70, 25), (70, 35)])
    snap = await settled(host)
    rect = next(i for i in snap["items"] if i["shape"] == "rect")
    assert rect["points"] == [[190.0, 40.0], [290.0, 110.0]]
    assert "line" not in [i["shape"] for i in snap["items"]]

    async with host.expect_download() as svg_download:
        await host.click("#board-svg")
    svg = (await (await svg_download.value).path()).read_text()
    assert svg.startswith("<svg") and "&#60;board&#62;" in svg and "<ellipse" in svg
    async with host.expect_download() as png_download:
        await host.click("#board-png")
    png = (await (await png_download.value).path()).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 1000

    # zoom changes the view, not the board
    await host.click("#board-zoom-in")
    assert (await snapshot(host))["view"]["scale"] > 1
    stored = await served.services.boards.state(room.id, board_id)
    assert stored["items"] == (await snapshot(host))["items"]


async def test_a_guest_outside_the_meeting_gets_no_board(
    chromium: Launch, served: Served, room: Room
) -> None:
    host, ann = await two_in_meeting(chromium, served, room)
    await open_board(host)
    await new_board(host)
    await drag(host, [(50, 50), (150, 60)])
    await settled(host)
    guest = await chromium(invite(served, room))
    await guest.wait_for_selector("#join:not([disabled])")
    assert await guest.locator("#board-prejoin").count() == 0
    await expect(guest.locator("#board-canvas")).to_be_hidden()
    refused = await guest.evaluate(
        """() => window.confero.signaling.request({type: 'board_list'}).then(
             () => 'answered', (e) => e.code)"""
    )
    assert refused == "conference.not_joined"
    await asyncio.sleep(0.3)
    assert (await snapshot(guest))["items"] == [] and (await snapshot(guest))["boards"] == []
    # Ann leaves: the board goes with the meeting
    await ann.evaluate("() => document.getElementById('leave').click()")
    await ann.wait_for_selector("#ended", state="visible")
    assert (await snapshot(ann))["board"] is None
