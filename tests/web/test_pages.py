"""The browser pages (F-WB1, F-WB2): the start page, sign-in, the room page behind an
invite link and its 404; the texts in four languages with the same keys; the static files
the pages load; and the hooks browser tests rely on. What the page's JavaScript does with
the WebSocket is proven in Chromium by tests/e2e/test_browser_meeting.py."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from confero.app.services import Services
from confero.domain.accounts import Account
from confero.domain.rooms import Room
from confero.web import i18n, pages
from confero.web.deps import SESSION_COOKIE
from tests.web.support import PASSWORD

STATIC = Path(pages.__file__).parent / "static"

#: The ids the brief promises to browser tests (tests/e2e): present in the room page.
ROOM_PAGE_IDS = frozenset(
    [
        "name",
        "join",
        "prejoin",
        "meeting",
        "ended",
        "ended-reason",
        "lobby-wait",
        "error",
        "mic-toggle",
        "camera-toggle",
        "screen-toggle",
        "hand-toggle",
        "chat-input",
        "chat-send",
        "chat-messages",
        "chat-older",
        "participants",
        "lobby-list",
        "leave-menu",
        "leave",
        "end-all",
        "end-all-but-me",
        "confirm-ok",
        "confirm-cancel",
        "confirm-text",
        "lock-toggle",
        "mute-all",
        "unmute-all",
        "settings",
        "reset-room",
        "view-toggle",
        "fullscreen",
        "tiles",
        "room-audio",
        "rejoin",
        "connection",
        "camera-select",
        "mic-select",
        "join-camera-off",
        "join-mic-off",
        "mic-level",
        "preview",
        "room-status",
        "settings-camera",
        "settings-mic",
    ]
)


@pytest.fixture
def web(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """The application as ``create_app`` builds it, pages included."""
    return client


@pytest.fixture
async def owner(services: Services) -> Account:
    return await services.accounts.create("host@example.org", PASSWORD, "Hanna <Host> & Co")


@pytest.fixture
async def room(services: Services, owner: Account) -> Room:
    return await services.rooms.create(owner, "Weekly <b>sync</b> & more", language="nl")


def config_of(html: str) -> dict[str, Any]:
    """The JSON block the page's JavaScript reads."""
    found = re.search(r'<script type="application/json" id="confero-config">(.*?)</script>', html)
    assert found, "the page embeds its configuration"
    config: dict[str, Any] = json.loads(found.group(1))
    return config


def ids_in(html: str) -> set[str]:
    return set(re.findall(r'\bid="([^"]+)"', html))


async def sign_in(web: httpx.AsyncClient, email: str) -> str:
    response = await web.post("/api/v1/session", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return web.cookies[SESSION_COOKIE]


# ---------------------------------------------------------------------- texts


def test_every_language_has_the_same_keys_and_placeholders() -> None:
    assert set(i18n.TEXTS) == {"en", "nl", "de", "pl"}
    assert i18n.check() == []
    english = i18n.TEXTS["en"]
    for lang, table in i18n.TEXTS.items():
        assert set(table) == set(english), lang
        for key, text in table.items():
            wanted = set(re.findall(r"\{(\w+)\}", english[key]))
            assert set(re.findall(r"\{(\w+)\}", text)) == wanted, (lang, key)
            assert "<" not in text and ">" not in text, (lang, key)  # texts are not HTML


def test_plural_texts_have_every_form() -> None:
    """Polish needs one/few/many; the page picks with Intl.PluralRules, so every language
    lists all four forms and the key sets stay equal."""
    bases = {key.rsplit(".", 1)[0] for key in i18n.EN if "." in key}
    assert bases, "some texts are plural"
    for base in bases:
        for form in ("one", "few", "many", "other"):
            assert f"{base}.{form}" in i18n.EN, f"{base}.{form}"


def test_check_reports_missing_extra_and_empty_texts() -> None:
    broken = {"en": {"a": "A", "b": "B"}, "nl": {"a": "", "c": "C"}}
    assert i18n.check(broken) == ["nl: missing b", "nl: extra c", "nl: empty a"]


@pytest.mark.parametrize(
    ("override", "room_language", "accept", "expected"),
    [
        (None, None, None, "en"),
        ("de", "nl", "pl", "de"),  # the visitor's own choice wins
        ("DE", None, None, "de"),
        ("xx", "nl", "pl", "nl"),  # an unknown override is ignored
        (None, "nl", "pl-PL,pl;q=0.9", "nl"),  # the room's language before the browser's
        (None, None, "fr-FR, pl;q=0.8, de;q=0.9", "de"),
        (None, None, "pl;q=0, nl;q=0.1", "nl"),  # q=0 means "not this one"
        (None, None, "fr, es;q=0.5", "en"),
        (None, None, "de;q=abc, nl", "nl"),
    ],
)
def test_the_page_language(
    override: str | None, room_language: str | None, accept: str | None, expected: str
) -> None:
    assert i18n.choose_language(override, room_language, accept) == expected


def test_every_text_key_the_scripts_use_exists() -> None:
    used: set[str] = set()
    for script in STATIC.glob("js/*.js"):
        used |= set(re.findall(r"\bt\(\s*'([a-z_.]+)'", script.read_text()))
        # ENDED_TEXT / ERROR_TEXT tables map codes to keys as plain strings.
        used |= set(
            re.findall(
                r":\s*'((?:err|ended)_[a-z_]+|left|removed|replaced|denied)'", script.read_text()
            )
        )
    assert len(used) > 40
    for key in used:
        assert key in i18n.EN or f"{key}.other" in i18n.EN, key


# ---------------------------------------------------------------------- room page


async def test_room_page_for_a_guest(web: httpx.AsyncClient, room: Room) -> None:
    response = await web.get(f"/join/{room.invite_token}", headers={"Accept-Language": "pl"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert '<html lang="nl">' in html, "the room's language"
    assert "Weekly &lt;b&gt;sync&lt;/b&gt; &amp; more" in html
    assert "<b>sync</b>" not in html, "user text is escaped"
    assert i18n.TEXTS["nl"]["join"] in html

    config = config_of(html)
    assert config["account"] is None
    assert config["lang"] == "nl"
    assert config["invite"] == room.invite_token
    assert config["ws_path"] == f"/ws/v1/join/{room.invite_token}"
    assert config["room"] == {
        "name": room.name,
        "language": "nl",
        "kind": "room",
        "has_members": False,
        "id": None,  # only for an account with a role in the room
    }
    assert config["texts"] == i18n.TEXTS["nl"]
    assert config["signin_url"] == f"/signin?next=%2Fjoin%2F{room.invite_token}"

    name = re.search(r"<input id=\"name\"[^>]*>", html, re.S)
    assert name and "required" in name.group(0) and 'value=""' in name.group(0)
    missing = ROOM_PAGE_IDS - ids_in(html)
    assert not missing, f"test hooks missing: {missing}"
    # The Invite dialog (F-WB6): whoever has the link may see the phone way in, the
    # participant PIN included, but never the admin PIN; a guest cannot send mail.
    assert config["invitation"] == {
        "link": f"http://127.0.0.1:8080/join/{room.invite_token}",
        "dial_in_number": "",
        "conference_number": room.conference_number,
        "pin": room.pin,
        "can_mail": False,
        "room_id": None,
    }
    assert f'id="invite-pin" type="text" readonly value="{room.pin}"' in html
    assert room.admin_pin not in html
    assert 'id="invite-mail-form"' not in html


async def test_room_page_for_a_signed_in_member(
    web: httpx.AsyncClient, room: Room, owner: Account
) -> None:
    token = await sign_in(web, owner.email)
    html = (await web.get(f"/join/{room.invite_token}")).text
    config = config_of(html)
    assert config["account"] == {"display_name": "Hanna <Host> & Co"}
    assert 'value="Hanna &lt;Host&gt; &amp; Co"' in html, "the name is prefilled, escaped"
    assert "Hanna <Host>" not in html.split('id="confero-config"')[0]
    assert token not in html, "the session token stays in its HttpOnly cookie"
    assert 'id="guest-note"' not in html
    assert config["invitation"]["can_mail"] is True
    assert config["invitation"]["room_id"] == room.id
    assert 'id="invite-mail-form"' in html
    assert room.admin_pin not in html, "not even for the owner: the page is for sharing"


async def test_a_stale_cookie_is_a_guest(web: httpx.AsyncClient, room: Room) -> None:
    web.cookies.set(SESSION_COOKIE, "not-a-token")
    config = config_of((await web.get(f"/join/{room.invite_token}")).text)
    assert config["account"] is None


async def test_the_visitor_may_choose_the_language(web: httpx.AsyncClient, room: Room) -> None:
    for lang in ("en", "nl", "de", "pl"):
        response = await web.get(f"/join/{room.invite_token}", params={"lang": lang})
        assert response.status_code == 200
        assert f'<html lang="{lang}">' in response.text
        assert config_of(response.text)["texts"]["join"] == i18n.TEXTS[lang]["join"]
        assert f'hreflang="{lang}" lang="{lang}" aria-current="true"' in response.text


async def test_an_unknown_invite_is_a_clear_404_page(web: httpx.AsyncClient) -> None:
    for token in ("no-such-invite", "x" * 300):
        response = await web.get(f"/join/{token}", headers={"Accept-Language": "de-DE,de"})
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert i18n.TEXTS["de"]["not_found_text"] in response.text
        assert "Traceback" not in response.text
        assert 'id="confero-config"' not in response.text


async def test_pages_send_protective_headers(web: httpx.AsyncClient, room: Room) -> None:
    for url in ("/", "/signin", f"/join/{room.invite_token}", "/join/nothing"):
        headers = (await web.get(url)).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["referrer-policy"] == "no-referrer", "the invite token stays here"
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["cache-control"] == "no-store"


# ---------------------------------------------------------------------- sign-in, start page


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (None, "/"),
        ("/join/abc", "/join/abc"),
        ("/join/abc?lang=de", "/join/abc?lang=de"),
        ("//evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example/", "/"),
        ("javascript:alert(1)", "/"),
        ("/ok\r\nSet-Cookie: x=1", "/"),
    ],
)
async def test_signin_goes_back_only_to_this_site(
    web: httpx.AsyncClient, given: str | None, expected: str
) -> None:
    params = {"next": given} if given is not None else {}
    response = await web.get("/signin", params=params)
    assert response.status_code == 200
    assert config_of(response.text)["next"] == expected
    assert pages.safe_next(given) == expected


async def test_signin_page_has_the_form_and_knows_who_is_signed_in(
    web: httpx.AsyncClient, owner: Account
) -> None:
    html = (await web.get("/signin", headers={"Accept-Language": "nl"})).text
    assert {"signin-form", "email", "password", "signin", "error"} <= ids_in(html)
    assert '<html lang="nl">' in html
    assert "sign-out" not in ids_in(html)

    await sign_in(web, owner.email)
    html = (await web.get("/signin", params={"next": "/join/x"})).text
    assert {"sign-out", "continue", "signed-in"} <= ids_in(html)
    assert 'href="/join/x"' in html
    assert "Hanna &lt;Host&gt; &amp; Co" in html


async def test_the_start_page_links_to_sign_in(web: httpx.AsyncClient, owner: Account) -> None:
    response = await web.get("/", headers={"Accept-Language": "pl"})
    assert response.status_code == 200
    assert 'href="/signin"' in response.text
    assert i18n.TEXTS["pl"]["index_intro"] in response.text
    assert "signed-in" not in ids_in(response.text)
    await sign_in(web, owner.email)
    assert "Hanna &lt;Host&gt; &amp; Co" in (await web.get("/")).text


# ---------------------------------------------------------------------- static files


async def test_every_file_a_page_loads_is_served(web: httpx.AsyncClient, room: Room) -> None:
    urls: set[str] = set()
    for page in ("/", "/signin", f"/join/{room.invite_token}", "/join/nothing"):
        html = (await web.get(page)).text
        urls |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    assert any(u.startswith("/static/js/main.js") for u in urls)
    for url in urls:
        response = await web.get(url)
        assert response.status_code == 200, url
    script = await web.get("/static/js/main.js")
    assert "javascript" in script.headers["content-type"]


def test_the_modules_import_files_that_exist() -> None:
    """No build step: a misspelt import is a blank page, so check every one."""
    scripts = sorted(STATIC.glob("js/*.js"))
    assert len(scripts) >= 10
    html_sink = re.compile(r"\.(innerHTML|outerHTML)\s*=|insertAdjacentHTML")
    for script in scripts:
        for target in re.findall(r"from '(\./[^']+)'", script.read_text()):
            assert (script.parent / target).is_file(), f"{script.name} imports {target}"
        assert not html_sink.search(script.read_text()), f"{script.name}: user text as HTML"
        assert len(script.read_text().splitlines()) < 600, script.name


def test_the_static_files_are_in_the_package_data() -> None:
    """pyproject ships web/static/* and web/static/*/*: nothing may sit deeper."""
    for path in STATIC.rglob("*"):
        if path.is_file():
            assert len(path.relative_to(STATIC).parts) <= 2, path


async def test_the_page_gets_the_configured_ice_servers(services: Services, room: Room) -> None:
    from confero.web.app import create_app

    servers: list[dict[str, object]] = [
        {"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}
    ]
    app = create_app(services, ice_servers=servers)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        response = await c.get(f"/join/{room.invite_token}")
    assert config_of(response.text)["ice_servers"] == servers
