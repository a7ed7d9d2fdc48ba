"""Shared files in Debian's Chromium (issue 12, Deliver 2): a file uploaded on one page
(button or drag and drop, with a progress bar) appears on the other page and downloads
there byte for byte, both ways between the signed-in owner and a guest; files over the
limit or of a refused type get a clear error and leave nothing on disk; the uploader and
moderators delete; a page that has not joined, a third account and the guest after
leaving see nothing."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from confero.config import Settings
from confero.domain.rooms import Room
from confero.web.i18n import EN
from tests.e2e.chromium import Launch
from tests.e2e.test_browser_meeting import enter, host_page, invite
from tests.phone.support import eventually
from tests.webrtc.support import Browser, Served

SOON = 10_000


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"max_upload_mb": 1})


def blob_dir(settings: Settings) -> Path:
    return settings.data_dir / "files"


def on_disk(settings: Settings) -> list[str]:
    root = blob_dir(settings)
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


async def open_files(page: Page) -> None:
    await page.click("#files-toggle")
    await expect(page.locator("#files-panel")).to_be_visible()


async def choose(page: Page, path: Path) -> None:
    await page.set_input_files("#file-input", str(path))


async def download(page: Page, name: str) -> bytes:
    link = page.locator("#files .file-name", has_text=name)
    async with page.expect_download() as info:
        await link.click()
    got = await info.value
    assert got.suggested_filename == name
    saved = await got.path()
    return await asyncio.to_thread(Path(saved).read_bytes)


async def test_files_shared_between_two_pages(
    served: Served, room: Room, chromium: Launch, settings: Settings, tmp_path: Path
) -> None:
    # A page of the room that has not joined: it must hear nothing of the files.
    lurker = Browser(served.ws_url(room))
    await lurker.connect()
    try:
        await run_meeting(served, room, chromium, settings, tmp_path, lurker)
    finally:
        await lurker.close()


async def run_meeting(
    served: Served,
    room: Room,
    chromium: Launch,
    settings: Settings,
    tmp_path: Path,
    lurker: Browser,
) -> None:
    host = await host_page(chromium, served, room)
    await enter(host)
    ann = await chromium(invite(served, room))
    await enter(ann, "Ann")
    await open_files(host)

    # ---- the guest uploads with the button; the owner downloads it byte for byte
    data = os.urandom(700_000)
    notes = tmp_path / "Notes ü.pdf"
    notes.write_bytes(data)
    await open_files(ann)
    await expect(ann.locator("#files-empty")).to_be_visible()
    await choose(ann, notes)
    await expect(ann.locator("#files .file")).to_have_count(1, timeout=SOON)
    await expect(ann.locator("#file-progress")).to_have_attribute("value", "100")
    await expect(host.locator("#files .file")).to_have_count(1, timeout=SOON)
    meta = await host.locator("#files .file-meta").inner_text()
    assert "Ann" in meta and "700" in meta
    assert await download(host, "Notes ü.pdf") == data
    assert len(on_disk(settings)) == 1

    # ---- the owner drops a file onto the panel; the guest downloads it
    table = b"name,value\n" + b"".join(b"row%d,%d\n" % (i, i * i) for i in range(5000))
    await host.evaluate(
        """(bytes) => {
          const file = new File([new Uint8Array(bytes)], 'table.csv', {type: 'text/csv'});
          const dt = new DataTransfer();
          dt.items.add(file);
          const panel = document.querySelector('#files-panel');
          for (const type of ['dragover', 'drop']) {
            const init = {dataTransfer: dt, bubbles: true, cancelable: true};
            panel.dispatchEvent(new DragEvent(type, init));
          }
        }""",
        list(table),
    )
    await expect(ann.locator("#files .file")).to_have_count(2, timeout=SOON)
    assert await download(ann, "table.csv") == table

    # ---- only the uploader and moderators may delete
    ann_table = ann.locator("#files .file", has_text="table.csv")
    await expect(ann_table.locator(".file-delete")).to_have_count(0)
    await expect(
        ann.locator("#files .file", has_text="Notes").locator(".file-delete")
    ).to_have_count(1)
    await expect(host.locator("#files .file-delete")).to_have_count(2)

    # ---- over the limit and a refused type: a clear error, nothing on disk
    before = on_disk(settings)
    big = tmp_path / "big.zip"
    big.write_bytes(b"z" * (1024 * 1024 + 1))
    await choose(ann, big)
    status = ann.locator("#file-status")
    await expect(status).to_have_text(EN["file_err_too_large"].replace("{max_mb}", "1"))
    page_html = tmp_path / "page.html"
    page_html.write_bytes(b"<script>alert(1)</script>")
    await choose(ann, page_html)
    await expect(status).to_contain_text(EN["file_err_type_refused"].split(":")[0], timeout=SOON)
    await expect(status).to_contain_text("pdf")
    assert on_disk(settings) == before
    await expect(ann.locator("#files .file")).to_have_count(2)

    # ---- nobody outside sees anything: the page that did not join, a third account
    assert not [m for m in lurker.messages if m.get("event", "").startswith("file_")]
    files_url = f"{served.base_url}/api/v1/rooms/{room.id}/files"
    third = await served.services.accounts.create("tess@example.org", "long-secret", "Tess")
    cookie = await served.services.accounts.issue_token(third, "session")
    stranger = await chromium(None)
    await stranger.context.add_cookies(
        [{"name": "confero_session", "value": cookie, "url": served.base_url}]
    )
    listed = await stranger.request.get(files_url)
    assert listed.status == 404
    file_id = await host.locator("#files .file").first.get_attribute("data-id")
    got = await stranger.request.get(f"{files_url}/{file_id}")
    assert got.status == 404 and got.headers["content-type"].startswith("application/problem")

    # ---- the owner deletes the guest's file: gone on both pages and on disk
    await host.locator("#files .file", has_text="Notes").locator(".file-delete").click()
    await host.click("#confirm-ok")
    await expect(host.locator("#files .file")).to_have_count(1, timeout=SOON)
    await expect(ann.locator("#files .file")).to_have_count(1, timeout=SOON)
    assert len(on_disk(settings)) == 1

    # ---- the guest leaves: the list empties and its download link opens nothing
    link = await ann.locator("#files .file-name").first.get_attribute("href")
    assert link is not None and "participant=" in link
    assert (await ann.request.get(served.base_url + link)).status == 200
    await ann.evaluate("() => window.confero.signaling.send({type: 'leave'})")
    await ann.wait_for_selector("#ended", state="visible")
    await expect(ann.locator("#files .file")).to_have_count(0)

    async def refused() -> bool:
        return (await ann.request.get(served.base_url + link)).status == 404

    await eventually(refused, 5)
