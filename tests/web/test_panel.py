"""The host panel's pages (F-RS8): who may see them, in which language, with which hooks
for the scripts; what the scripts do in the browser is proven in Chromium by
tests/e2e/test_panel.py."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.domain.accounts import Account
from confero.server import build
from confero.web import i18n, panel
from confero.web.app import create_app
from tests.clock import FakeClock
from tests.web.support import PASSWORD
from tests.web.test_pages import config_of, ids_in, sign_in

STATIC = Path(panel.__file__).parent / "static"
PAGES = ("/rooms", "/people", "/reservations", "/accounts", "/sms", "/settings")


@pytest.fixture
async def host(services: Services) -> Account:
    return await services.accounts.create("host@example.org", PASSWORD, "Hanna <Host>")


@pytest.fixture
async def boss(services: Services) -> Account:
    return await services.accounts.create("boss@example.org", PASSWORD, "Ada", is_admin=True)


@pytest.mark.parametrize("path", PAGES)
async def test_signed_out_goes_to_sign_in_and_back(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path, params={"lang": "de"})
    assert response.status_code == 303
    target = f"{path}?lang=de".replace("/", "%2F").replace("?", "%3F").replace("=", "%3D")
    assert response.headers["location"] == f"/signin?next={target}"
    # The sign-in page sends the visitor back to exactly that page.
    page = await client.get(response.headers["location"])
    assert config_of(page.text)["next"] == f"{path}?lang=de"


async def test_a_stale_cookie_is_signed_out(client: httpx.AsyncClient) -> None:
    client.cookies.set("confero_session", "not-a-token")
    response = await client.get("/rooms")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Frooms"


@pytest.mark.parametrize("lang", ["en", "nl", "de", "pl"])
async def test_every_page_renders_in_every_language(
    client: httpx.AsyncClient, boss: Account, lang: str
) -> None:
    await sign_in(client, boss.email)
    texts = i18n.TEXTS[lang]
    for path in PAGES:
        response = await client.get(path, params={"lang": lang})
        assert response.status_code == 200, (path, response.text[:500])
        html = response.text
        assert f'<html lang="{lang}">' in html
        assert texts["panel_rooms"] in html and texts["sign_out"] in html
        assert texts["signin"] not in re.sub(
            r'<nav class="languages".*?</nav>', "", html, flags=re.S
        )
        assert {"sign-out", "account-name", "nav-rooms", "nav-accounts", "main"} <= ids_in(html)
        assert f'href="/reservations?lang={lang}"' in html, "the language travels along"
        config = config_of(html)
        assert config["lang"] == lang
        assert config["texts"]["panel_copy"] == texts["panel_copy"]
        own = set(panel._SHARED_TEXTS) | set(config["errors"].values())
        prefixes = ("panel_", *panel.PEOPLE_PREFIXES)
        assert all(k.startswith(prefixes) or k in own for k in config["texts"])
        assert config["account"]["email"] == boss.email


async def test_the_page_carries_the_server_clock_and_the_rules(
    client: httpx.AsyncClient, host: Account, clock: FakeClock
) -> None:
    await sign_in(client, host.email)
    config = config_of((await client.get("/reservations")).text)
    assert datetime.fromisoformat(config["now"]) == clock.now()
    assert config["rules"] == {
        "min_lead_minutes": 10,
        "max_lead_days": 30,
        "max_length_days": 14,
        "max_active": 3,
    }
    assert config["account"]["time_zone"] == host.time_zone
    rooms = config_of((await client.get("/rooms")).text)
    assert rooms["max_capacity"] >= 2
    assert set(rooms["languages"]) == {"en", "nl", "de", "pl"}


async def test_polish_says_usun_for_deleting_a_reservation(
    client: httpx.AsyncClient, host: Account
) -> None:
    await sign_in(client, host.email)
    config = config_of((await client.get("/reservations", params={"lang": "pl"})).text)
    assert config["texts"]["panel_res_delete"] == "Usuń"


async def test_accounts_are_for_administrators(client: httpx.AsyncClient, host: Account) -> None:
    await sign_in(client, host.email)
    response = await client.get("/accounts", headers={"Accept-Language": "nl"})
    assert response.status_code == 403
    assert i18n.TEXTS["nl"]["panel_forbidden_text"] in response.text
    assert 'id="confero-config"' not in response.text
    rooms = (await client.get("/rooms")).text
    assert "nav-accounts" not in ids_in(rooms), "no link to a page it may not open"
    assert {"nav-rooms", "nav-reservations", "nav-settings"} <= ids_in(rooms)


async def test_the_sms_outbox_is_for_administrators(
    client: httpx.AsyncClient, host: Account, boss: Account
) -> None:
    await sign_in(client, host.email)
    response = await client.get("/sms", params={"lang": "pl"})
    assert response.status_code == 403
    assert i18n.TEXTS["pl"]["panel_forbidden_text_sms"] in response.text
    assert 'id="confero-config"' not in response.text
    assert "nav-sms" not in ids_in((await client.get("/rooms")).text)
    await sign_in(client, boss.email)
    html = (await client.get("/rooms")).text
    assert 'id="nav-sms" href="/sms"' in html


async def test_the_sms_page_says_sms_are_kept_here_without_a_gateway(
    client: httpx.AsyncClient, boss: Account
) -> None:
    """The default (no CONFERO_SMS_URL): the outbox adapter keeps every SMS."""
    await sign_in(client, boss.email)
    html = (await client.get("/sms", params={"lang": "de"})).text
    assert config_of(html)["sms_outbox"] is True
    texts = i18n.TEXTS["de"]
    page = html.split('id="confero-config"')[0]  # the server's words, not the config's
    assert texts["panel_sms_outbox_note"] in page and texts["panel_sms_empty"] in page
    assert texts["panel_sms_gateway_note"] not in page
    assert {"sms-mode", "sms-list", "sms-empty", "sms-loading"} <= ids_in(html)
    assert "/static/js/panel-sms.js" in html
    assert "sms_outbox" not in config_of((await client.get("/reservations")).text)


async def test_the_sms_page_says_sms_go_to_the_gateway_when_one_is_set(
    settings: Settings, clock: FakeClock
) -> None:
    gateway = settings.model_copy(update={"sms_url": "http://127.0.0.1:9/sms"})
    services = await build(gateway, clock=clock)
    try:
        assert services.sms_outbox is False
        boss = await services.accounts.create("boss@example.org", PASSWORD, is_admin=True)
        transport = httpx.ASGITransport(app=create_app(services))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as web:
            await sign_in(web, boss.email)
            html = (await web.get("/sms")).text
    finally:
        await services.close()
    assert config_of(html)["sms_outbox"] is False
    page = html.split('id="confero-config"')[0]
    assert 'data-mode="gateway"' in page
    assert i18n.EN["panel_sms_gateway_note"] in page
    assert i18n.EN["panel_sms_outbox_note"] not in page


def test_every_reason_a_notice_is_not_sent_has_a_text() -> None:
    """Each stable ``last_error`` code of the worker (confero.domain.notices) is one the
    reservations page translates."""
    from confero.domain import notices

    codes = [
        value
        for name, value in vars(notices).items()
        if name.isupper() and isinstance(value, str) and re.fullmatch(r"[a-z_]+\.[a-z_]+", value)
    ]
    assert len(codes) >= 7, codes
    for code in codes:
        assert f"panel_reason_{code.replace('.', '_')}" in i18n.EN, code
    assert notices.reason("delivery.refused", " 550 no ") == "delivery.refused: 550 no"
    assert notices.reason("notice.expired") == "notice.expired"


async def test_user_text_is_escaped(client: httpx.AsyncClient, host: Account) -> None:
    await sign_in(client, host.email)
    html = (await client.get("/settings")).text
    assert "Hanna &lt;Host&gt;" in html
    assert "Hanna <Host>" not in html.split('id="confero-config"')[0]


async def test_the_start_page_offers_sign_out_not_sign_in_when_signed_in(
    client: httpx.AsyncClient, host: Account
) -> None:
    html = (await client.get("/")).text
    assert "signin-link" in ids_in(html) and "sign-out" not in ids_in(html)
    await sign_in(client, host.email)
    html = (await client.get("/", headers={"Accept-Language": "de"})).text
    assert {"signed-in", "sign-out", "rooms-link"} <= ids_in(html)
    assert "signin-link" not in ids_in(html)
    assert 'href="/rooms"' in html and i18n.TEXTS["de"]["panel_rooms"] in html
    assert "/static/js/panel-signout.js" in html


async def test_panel_pages_send_protective_headers(
    client: httpx.AsyncClient, host: Account
) -> None:
    await sign_in(client, host.email)
    for path in PAGES:
        headers = (await client.get(path)).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert headers["cache-control"] == "no-store"
        assert headers["x-content-type-options"] == "nosniff"


async def test_every_file_a_panel_page_loads_is_served(
    client: httpx.AsyncClient, boss: Account
) -> None:
    await sign_in(client, boss.email)
    urls: set[str] = set()
    for path in (*PAGES, "/"):
        urls |= set(re.findall(r'(?:src|href)="(/static/[^"]+)"', (await client.get(path)).text))
    assert sum("/static/js/panel-" in u for u in urls) >= 5
    for url in urls:
        assert (await client.get(url)).status_code == 200, url


def test_the_panel_scripts_import_files_that_exist_and_use_known_texts() -> None:
    scripts = sorted(STATIC.glob("js/panel-*.js"))
    assert len(scripts) >= 9
    for script in scripts:
        source = script.read_text()
        for target in re.findall(r"from '(\./[^']+)'|import '(\./[^']+)'", source):
            name = next(t for t in target if t)
            assert (script.parent / name).is_file(), f"{script.name} imports {name}"
        for key in re.findall(r"\bt\(\s*'([a-z_.]+)'", source):
            assert key in i18n.EN or f"{key}.other" in i18n.EN, (script.name, key)
    templates = Path(panel.__file__).parent / "templates"
    for template in templates.glob("panel_*.html"):
        for key in re.findall(r"\bt\.([a-z_]+)", template.read_text()):
            assert key in i18n.EN, (template.name, key)


# ---------------------------------------------------------------------- people (issue 11)
#: The call UI of static/js/people.js: the hooks the browser tests (tests/e2e) rely on.
CALL_UI_IDS = frozenset(
    [
        "call-outgoing",
        "call-outgoing-status",
        "call-cancel",
        "call-incoming",
        "call-incoming-name",
        "call-accept",
        "call-decline",
        "gathering",
        "gathering-text",
        "gathering-join",
        "gathering-dismiss",
        "missed",
        "missed-list",
    ]
)


@pytest.mark.parametrize("lang", ["en", "nl", "de", "pl"])
async def test_the_people_page_renders_in_every_language(
    client: httpx.AsyncClient, host: Account, lang: str
) -> None:
    """Contacts with presence, search, directory and the contact menu (F-WB3), for every
    account (not only administrators)."""
    await sign_in(client, host.email)
    response = await client.get("/people", params={"lang": lang})
    assert response.status_code == 200, response.text[:500]
    html = response.text
    texts = i18n.TEXTS[lang]
    assert f"<title>{texts['panel_people']} · Confero</title>" in html
    assert 'id="nav-people"' in html and 'aria-current="page"' in html
    assert {
        "contact-search",
        "contacts",
        "directory",
        "directory-results",
        "contact-menu",
        "contact-menu-call",
        "contact-menu-remove",
    } <= ids_in(html)
    assert texts["panel_people_search"] in html and texts["people_call"] in html
    assert "/static/js/panel-people.js" in html
    config = config_of(html)
    assert config["page"] == "people"
    for key in ("people_online", "people_busy", "people_offline", "call_incoming_waiting"):
        assert config["texts"][key] == texts[key], key


async def test_every_panel_page_opens_the_people_socket(
    client: httpx.AsyncClient, boss: Account
) -> None:
    """Presence follows open pages: every panel page loads people.js, with its socket's
    path, the call dialogs and the texts of calls and of their refusals."""
    await sign_in(client, boss.email)
    for path in PAGES:
        html = (await client.get(path, params={"lang": "pl"})).text
        assert '<script type="module" src="/static/js/people.js"></script>' in html, path
        assert ids_in(html) >= CALL_UI_IDS, (path, CALL_UI_IDS - ids_in(html))
        config = config_of(html)
        assert config["people"] == {"ws_path": "/ws/v1/people"}, path
        texts = config["texts"]
        assert texts["call_accept"] == i18n.TEXTS["pl"]["call_accept"]
        assert texts["err_call_unavailable"] == i18n.TEXTS["pl"]["err_call_unavailable"]
        assert config["errors"]["call.unavailable"] == "err_call_unavailable"
        assert config["errors"]["contact.invalid"] == "err_contact_invalid"
    assert 'id="nav-people" href="/people?lang=pl"' in html


async def test_the_join_page_opens_the_people_socket_only_when_signed_in(
    client: httpx.AsyncClient, services: Services, host: Account
) -> None:
    """A guest (invite link only) sees no presence and calls nobody."""
    room = await services.rooms.create(host, "Weekly")
    guest = (await client.get(f"/join/{room.invite_token}")).text
    assert "/static/js/people.js" not in guest
    assert not CALL_UI_IDS & ids_in(guest)
    assert "people" not in config_of(guest)
    assert config_of(guest)["room"]["id"] is None
    await sign_in(client, host.email)
    member = (await client.get(f"/join/{room.invite_token}")).text
    assert '<script type="module" src="/static/js/people.js"></script>' in member
    assert ids_in(member) >= CALL_UI_IDS
    assert config_of(member)["people"] == {"ws_path": "/ws/v1/people"}


async def test_call_everyone_shows_in_a_room_with_members(
    client: httpx.AsyncClient, services: Services, host: Account
) -> None:
    """F-WB4: the meeting's participants panel offers "Call everyone to the meeting"
    once the room has members to call."""
    room = await services.rooms.create(host, "Team")
    await sign_in(client, host.email)
    html = (await client.get(f"/join/{room.invite_token}")).text
    assert config_of(html)["room"] == {
        "name": "Team",
        "language": room.language.value,
        "kind": "room",
        "has_members": False,
        "id": room.id,
    }
    assert "call-everyone" not in ids_in(html)
    colleague = await services.accounts.create("colleague@example.org", PASSWORD, "Cora")
    await services.rooms.set_member(host, room.id, colleague.email, "participant")
    html = (await client.get(f"/join/{room.invite_token}", params={"lang": "de"})).text
    assert config_of(html)["room"]["has_members"] is True
    assert "call-everyone" in ids_in(html)
    assert i18n.TEXTS["de"]["call_everyone"] in html


async def test_a_call_room_reads_hang_up(
    client: httpx.AsyncClient, services: Services, host: Account
) -> None:
    """F-WB3: the room of an accepted 1:1 call is the meeting page with "Hang up", no
    invitations, no rejoin and nobody to call in."""
    callee = await services.accounts.create("callee@example.org", PASSWORD, "Cleo")
    room = await services.rooms.create_call_room(host, callee)
    await sign_in(client, callee.email)
    html = (await client.get(f"/join/{room.invite_token}", params={"lang": "nl"})).text
    texts = i18n.TEXTS["nl"]
    assert '<body class="room is-call">' in html
    assert f'role="menuitem">{texts["call_hang_up"]}</button>' in html
    assert re.search(r'<button id="rejoin"[^>]* hidden>', html)
    assert "call-everyone" not in ids_in(html)
    room_config = config_of(html)["room"]
    assert room_config["kind"] == "call"
    assert room_config["has_members"] is False
    assert config_of(html)["texts"]["ended_call_ended"] == texts["ended_call_ended"]


def test_the_people_scripts_name_the_hooks_of_the_contract() -> None:
    """The DOM ids and classes the browser tests use are the ones the scripts make."""
    scripts = {p.name: p.read_text() for p in STATIC.glob("js/*.js")}
    people = scripts["people.js"]
    for hook in ("#call-incoming", "#call-outgoing-status", "#gathering-join", "missed-item"):
        assert hook in people, hook
    page = scripts["panel-people.js"]
    for hook in ("contact-call", "contact-remove", "contact-add", "#contact-menu", "presence"):
        assert hook in page, hook
    members = scripts["panel-members.js"]
    for hook in ("room-members", "member-role", "member-remove", "member-add-input"):
        assert hook in members, hook
    assert "room-call-everyone" in members and "gather(" in members
