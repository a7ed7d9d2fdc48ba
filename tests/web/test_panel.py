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
PAGES = ("/rooms", "/reservations", "/accounts", "/sms", "/settings")


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
        assert all(k.startswith("panel_") or k in own for k in config["texts"])
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
