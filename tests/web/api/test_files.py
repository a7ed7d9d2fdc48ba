"""Shared files over REST (issue 12, Deliver 2; web/api/files.py): readers only, the
upload checked before and while reading, downloads always attachments, the uploader and
moderators delete. A guest participant's token is tested against the served node."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.web.app import create_app
from tests.web.support import User, add_member, assert_problem, create_room
from tests.webrtc.support import Browser, Served, browsers, served

__all__ = ["browsers", "served"]

MB = 1024 * 1024


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", http_port=8080, max_upload_mb=1)


@pytest.fixture
def blob_dir(settings: Settings) -> Path:
    return settings.data_dir / "files"


def on_disk(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def url(room_id: str, file_id: str = "") -> str:
    return f"/api/v1/rooms/{room_id}/files" + (f"/{file_id}" if file_id else "")


async def upload(
    client: httpx.AsyncClient, headers: dict[str, str], room_id: str, name: str, data: Any
) -> httpx.Response:
    return await client.post(url(room_id), params={"name": name}, content=data, headers=headers)


@pytest.fixture
async def room(client: httpx.AsyncClient, admin: User, other: User) -> dict[str, Any]:
    made = await create_room(client, admin, "Files")
    assert (await add_member(client, admin, made["id"], other, "participant")).status_code < 300
    return made


async def test_upload_list_download_delete(
    client: httpx.AsyncClient, admin: User, other: User, room: dict[str, Any], blob_dir: Path
) -> None:
    data = bytes(range(256)) * 1000 + b"<html><script>alert(1)</script>"
    r = await upload(client, other.headers, room["id"], "Réunion notes (1).txt", data)
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["name"] == "Réunion notes (1).txt" and f["size"] == len(data)
    assert f["uploader_name"] == "Bob Other" and f["deletable"] is True
    assert f["media_type"] == "text/plain; charset=utf-8"
    assert on_disk(blob_dir) != [] and all(len(n) == 32 for n in on_disk(blob_dir))

    listed = (await client.get(url(room["id"]), headers=admin.headers)).json()
    assert listed["max_upload_mb"] == 1 and "pdf" in listed["types"]
    assert [x["id"] for x in listed["files"]] == [f["id"]]
    assert listed["files"][0]["deletable"] is True  # the owner moderates

    got = await client.get(url(room["id"], f["id"]), headers=admin.headers)
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "text/plain; charset=utf-8"
    cd = got.headers["content-disposition"]
    assert cd.startswith("attachment;")
    assert "filename*=UTF-8''R%C3%A9union%20notes%20%281%29.txt" in cd
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-security-policy"].startswith("sandbox")

    assert (await client.delete(url(room["id"], f["id"]), headers=admin.headers)).status_code == 204
    assert on_disk(blob_dir) == []
    gone = await client.get(url(room["id"], f["id"]), headers=admin.headers)
    assert_problem(gone, 404, "file.not_found")
    assert (await client.get(url(room["id"]), headers=other.headers)).json()["files"] == []


async def test_only_uploader_or_moderator_deletes(
    client: httpx.AsyncClient,
    services: Services,
    admin: User,
    other: User,
    third: User,
    room: dict[str, Any],
) -> None:
    await add_member(client, admin, room["id"], third, "participant")
    f = (await upload(client, other.headers, room["id"], "a.pdf", b"%PDF")).json()
    listed = (await client.get(url(room["id"]), headers=third.headers)).json()
    assert listed["files"][0]["deletable"] is False
    r = await client.delete(url(room["id"], f["id"]), headers=third.headers)
    assert_problem(r, 403, "auth.forbidden")
    r = await client.delete(url(room["id"], f["id"]), headers=other.headers)
    assert r.status_code == 204


async def test_strangers_see_nothing(
    client: httpx.AsyncClient, admin: User, third: User, room: dict[str, Any], blob_dir: Path
) -> None:
    f = (await upload(client, admin.headers, room["id"], "a.pdf", b"%PDF")).json()
    for method, path in (
        ("GET", url(room["id"])),
        ("GET", url(room["id"], f["id"])),
        ("DELETE", url(room["id"], f["id"])),
        ("POST", url(room["id"]) + "?name=b.pdf"),
    ):
        r = await client.request(method, path, headers=third.headers, content=b"x")
        assert_problem(r, 404, "room.not_found")
        assert_problem(await client.request(method, path, content=b"x"), 401, "auth.required")
        fake = {"X-Confero-Participant": "not-a-token-of-anyone"}
        assert_problem(await client.request(method, path, headers=fake), 404, "room.not_found")
    assert len(on_disk(blob_dir)) == 1


async def test_too_large_is_refused_and_leaves_nothing(
    client: httpx.AsyncClient, admin: User, room: dict[str, Any], blob_dir: Path
) -> None:
    # announced too large: refused at once
    r = await upload(client, admin.headers, room["id"], "big.zip", b"x" * (MB + 1))
    body = assert_problem(r, 413, "file.too_large")
    assert body["max_mb"] == 1

    # streamed without a length, found too large while reading
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"x" * (MB // 4)

    r = await upload(client, admin.headers, room["id"], "big.zip", chunks())
    assert_problem(r, 413, "file.too_large")
    assert on_disk(blob_dir) == []
    r = await client.get(url(room["id"]), headers=admin.headers)
    assert r.json()["files"] == []


async def test_content_length_alone_refuses_before_reading(
    services: Services, admin: User, room: dict[str, Any], blob_dir: Path
) -> None:
    """A client announcing 10 GB gets its 413 without sending a byte of it."""
    read: list[int] = []

    async def app_with_counter(scope: Any, receive: Any, send: Any) -> None:
        async def counting() -> Any:
            message = await receive()
            read.append(len(message.get("body", b"")))
            return message

        await create_app(services)(scope, counting, send)

    transport = httpx.ASGITransport(app=app_with_counter)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        headers = {**admin.headers, "Content-Length": str(10 * 1024 * MB)}
        r = await c.post(url(room["id"]), params={"name": "a.zip"}, headers=headers, content=b"x")
    assert_problem(r, 413, "file.too_large")
    assert read == [] and on_disk(blob_dir) == []


async def test_refused_types_and_hostile_names(
    client: httpx.AsyncClient, admin: User, room: dict[str, Any], blob_dir: Path
) -> None:
    for name in ("page.html", "x.svg", "../../etc/passwd", "run.exe", "noext"):
        r = await upload(client, admin.headers, room["id"], name, b"<html>")
        body = assert_problem(r, 415, "file.type_refused")
        assert "pdf" in body["allowed"]
    r = await upload(client, admin.headers, room["id"], "\x00\x00", b"x")
    assert_problem(r, 422, "file.invalid_name")
    assert on_disk(blob_dir) == []

    r = await upload(client, admin.headers, room["id"], "../../etc/passwd.txt", b"root")
    assert r.status_code == 201 and r.json()["name"] == "passwd.txt"
    r = await upload(client, admin.headers, room["id"], 'we"ird\x00;name\r\n.pdf', b"%PDF")
    assert r.status_code == 201 and r.json()["name"] == 'we"ird;name.pdf'
    got = await client.get(url(room["id"], r.json()["id"]), headers=admin.headers)
    cd = got.headers["content-disposition"]
    assert cd == "attachment; filename=\"we_ird_name.pdf\"; filename*=UTF-8''we%22ird%3Bname.pdf"
    assert all(len(n) == 32 for n in on_disk(blob_dir))


async def test_cookie_upload_from_another_site_is_refused(
    client: httpx.AsyncClient, services: Services, room: dict[str, Any], blob_dir: Path
) -> None:
    admin = await services.accounts.by_email("ada@example.org")
    assert admin is not None
    cookie = await services.accounts.issue_token(admin, "session")
    client.cookies.set("confero_session", cookie)
    r = await client.post(
        url(room["id"]),
        params={"name": "a.pdf"},
        content=b"%PDF",
        headers={"Origin": "https://evil.example"},
    )
    assert_problem(r, 403, "auth.cross_site")
    assert on_disk(blob_dir) == []
    r = await client.post(url(room["id"]), params={"name": "a.pdf"}, content=b"%PDF")
    assert r.status_code == 201


async def test_a_guest_in_the_meeting_shares_and_loses_access_after(
    served: Served, browsers: list[Browser], blob_dir: Path
) -> None:
    svc = served.services
    owner = await svc.accounts.create("host@example.org", "long-secret", "Host")
    room: Room = await svc.rooms.create(owner, "Board")
    guest = Browser(served.ws_url(room))
    browsers.append(guest)
    await guest.connect()
    token = (await guest.join("Gus"))["resume"]
    h = {"X-Confero-Participant": token}
    async with httpx.AsyncClient(base_url=served.base_url) as c:
        r = await c.post(url(room.id), params={"name": "g.pdf"}, content=b"%PDF-g", headers=h)
        assert r.status_code == 201, r.text
        f = r.json()
        assert f["uploader_name"] == "Gus" and f["deletable"] is True
        event = await guest.event("file_shared")
        assert event["file"]["id"] == f["id"] and "blob" not in event["file"]
        got = await c.get(url(room.id, f["id"]), params={"participant": token})
        assert got.content == b"%PDF-g"

        await guest.send(type="leave", ref="l")
        await guest.expect("left", ref="l")
        assert_problem(await c.get(url(room.id), headers=h), 404, "room.not_found")
        r = await c.get(url(room.id, f["id"]), params={"participant": token})
        assert_problem(r, 404, "room.not_found")
    # the owner still has it
    assert [x.id for x in await svc.files.list(room.id)] == [f["id"]]
