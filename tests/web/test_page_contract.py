"""The room page reads the server's contract instead of copying it (issue 10, Deliver 4):
the error texts and the command names come in its config from the error registry and the
command contract, and every error code and command name its scripts still name is one the
server knows."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from confero.app import contract
from confero.app.services import Services
from confero.domain.errors import ERRORS, final_join_codes, page_texts
from confero.web import i18n, pages
from tests.web.support import PASSWORD
from tests.web.test_pages import config_of, sign_in

SCRIPTS = sorted((Path(pages.__file__).parent / "static" / "js").glob("*.js"))

#: Codes the page makes up itself for what no server said (closed socket, no answer).
PAGE_CODES = frozenset({"connection.closed", "timeout"})
#: Quoted strings with a dot that are not error codes.
NOT_CODES = frozenset({"button.copy"})


def quoted_codes() -> dict[str, str]:
    found: dict[str, str] = {}
    for script in SCRIPTS:
        for code in re.findall(r"'([a-z_]+\.[a-z_]+)'", script.read_text()):
            found.setdefault(code, script.name)
    return found


def test_every_error_code_the_scripts_name_is_registered() -> None:
    codes = quoted_codes()
    assert "reservation.too_soon" in codes, "the scan finds the codes"
    unknown = {c: where for c, where in codes.items() if c not in ERRORS}
    assert set(unknown) <= PAGE_CODES | NOT_CODES, unknown


def sent_commands() -> dict[str, str]:
    """Names in the first argument of every ``command(...)`` call of the scripts."""
    found: dict[str, str] = {}
    for script in SCRIPTS:
        for call in re.finditer(r"\bcommand\(([^,)]*)", script.read_text()):
            for name in re.findall(r"'([a-z_]+)'", call.group(1)):
                found.setdefault(name, script.name)
    return found


def test_the_scripts_send_only_commands_the_server_takes() -> None:
    sent = sent_commands()
    assert {"mute", "kick", "reset", "invite", "toggle_mute"} <= set(sent), "the scan works"
    unknown = {name: where for name, where in sent.items() if name not in contract.NAMES}
    assert unknown == {}


def test_no_script_maps_a_server_code_to_a_text() -> None:
    """The code -> text table lives in the registry; every page gets it in its config."""
    assert any(s.name == "panel-common.js" for s in SCRIPTS)
    for script in SCRIPTS:
        text = script.read_text()
        assert not re.search(r"'[a-z_]+\.[a-z_]+'\s*:\s*'(panel_)?err_", text), script.name
        assert "err_moderator_only" not in text, script.name
        # No text key made up from a code ("panel_err_" + code) either.
        assert not re.search(r"err_\$\{", text), script.name


def test_no_script_lists_the_final_join_errors() -> None:
    """Which refusals end the automatic rejoin is the registry's ``final_for_join``."""
    for script in SCRIPTS:
        assert "'conference.window_ended'" not in script.read_text(), script.name


async def test_the_room_page_carries_the_error_texts(
    client: httpx.AsyncClient, services: Services
) -> None:
    owner = await services.accounts.create("host@example.org", PASSWORD, "Host")
    room = await services.rooms.create(owner, "Weekly")
    response = await client.get(f"/join/{room.invite_token}")
    config = config_of(response.text)
    assert config["errors"] == page_texts()
    assert config["final_join_errors"] == final_join_codes()
    assert "room.full" in config["final_join_errors"]
    assert config["commands"] == sorted(contract.NAMES)
    assert config["errors"]["conference.moderator_only"] == "err_moderator_only"
    for key in config["errors"].values():
        assert key in config["texts"] and key in i18n.EN


async def test_the_panel_pages_carry_the_error_texts(
    client: httpx.AsyncClient, services: Services
) -> None:
    """A refused booking shows the registry's text on the panel, in the page's language."""
    host = await services.accounts.create("host@example.org", PASSWORD, "Host")
    await sign_in(client, host.email)
    response = await client.get("/rooms", params={"lang": "de"})
    config = config_of(response.text)
    assert config["errors"] == page_texts()
    assert config["errors"]["reservation.overlap"] == "panel_err_reservation_overlap"
    for key in config["errors"].values():
        assert config["texts"][key] == i18n.TEXTS["de"][key], key
