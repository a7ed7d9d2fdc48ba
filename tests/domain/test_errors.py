"""The one error registry (issue 10, Deliver 4; house rules 3 and 7): every code raised in
``src/`` has a row, the HTTP statuses stay what clients know, and every prompt and text
key a row names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import confero
from confero.domain.errors import (
    ERRORS,
    GENERIC_TEXT,
    DomainError,
    ErrorKind,
    UnregisteredErrorCode,
    kind_of,
    page_texts,
)
from confero.media.prompts.catalog import TEXTS as PROMPTS
from confero.web import i18n

SRC = Path(confero.__file__).parent

#: The statuses published before the registry (web/problems.py's old table and rule):
#: clients branch on them, so they are pinned here code by code.
PUBLISHED_STATUS = {
    "auth.required": 401,
    "auth.invalid_credentials": 401,
    "auth.forbidden": 403,
    "auth.account_disabled": 403,
    "auth.cross_site": 403,
    "account.wrong_password": 403,
    "account.self_lockout": 409,
    "auth.rate_limited": 429,
    "access.invalid": 403,
    "conference.moderator_only": 403,
    "conference.not_a_participant": 403,
    "account.email_taken": 409,
    "reservation.limit_reached": 409,
    "reservation.overlap": 409,
    "reservation.already_started": 409,
    "room.full": 409,
    "room.locked": 409,
    "conference.ended": 409,
    "conference.not_running": 409,
    "conference.too_early": 409,
    "conference.window_ended": 409,
    "conference.nobody_to_remove": 409,
    "conference.unmute_not_allowed": 409,
    "conference.busy": 503,
    "conference.unknown_participant": 404,
    "conference.unknown_knocker": 404,
    "account.not_found": 404,
    "room.not_found": 404,
    "reservation.not_found": 404,
    "server.error": 500,
    # issue 14: REST chat is limited now (never answered before), sockets capped
    "chat.rate_limited": 429,
    "socket.too_many": 429,
    "server.busy": 503,
    "server.not_ready": 503,  # issue 18: the readiness probe
    "board.full": 409,
    "file.type_refused": 415,
    "file.too_large": 413,
    "board.not_found": 404,
    "board.rate_limited": 429,
    "file.not_found": 404,
    "recording.not_found": 404,
    "recording.already_running": 409,
    "recording.not_running": 409,
    "recording.unavailable": 409,
    "request.too_large": 413,
    # issue 11 (people and calls)
    "call.not_found": 404,
    "call.not_a_contact": 403,
    "call.unavailable": 409,
    "call.already_ringing": 409,
    "call.not_yours": 403,
    "call.over": 409,
    "contact.not_found": 404,
    # issue 16: the room runs on another node of the cluster (Misdirected Request)
    "conference.elsewhere": 421,
}


def raised_codes() -> dict[str, str]:
    """Every ``DomainError("code", ...)`` literal in the package -> a file raising it."""
    found: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for match in re.finditer(r'DomainError\(\s*(f?)"([^"]*)"', path.read_text()):
            assert not match.group(1), f"{path}: an error code is a literal, not an f-string"
            found.setdefault(match.group(2), str(path.relative_to(SRC)))
    return found


def test_every_code_raised_in_the_source_is_registered() -> None:
    codes = raised_codes()
    assert len(codes) > 50, "the scan finds the codes"
    missing = {code: where for code, where in codes.items() if code not in ERRORS}
    assert missing == {}


def test_every_domain_error_is_built_with_a_literal_code() -> None:
    """The scan above sees every code only if none is computed."""
    for path in sorted(SRC.rglob("*.py")):
        for match in re.finditer(r"DomainError\(\s*([^\s)])", path.read_text()):
            if path.name == "errors.py":
                continue
            assert match.group(1) == '"', f"{path}: DomainError({match.group(1)}..."


def test_published_statuses_are_kept() -> None:
    for code, status in PUBLISHED_STATUS.items():
        assert ERRORS[code].http_status == status, code
    for code, kind in ERRORS.items():
        if code not in PUBLISHED_STATUS:
            assert kind.http_status == 422, code  # the default every other code had


def test_every_prompt_and_text_key_exists() -> None:
    for kind in ERRORS.values():
        assert kind.prompt is None or kind.prompt in PROMPTS, kind.code
        assert kind.text_key in i18n.EN, kind.code


def test_page_texts_name_only_codes_with_a_text_of_their_own() -> None:
    texts = page_texts()
    assert texts["room.full"] == "err_room_full"
    assert texts["conference.moderator_only"] == "err_moderator_only"
    assert GENERIC_TEXT not in texts.values()
    assert set(texts) <= set(ERRORS)


def test_the_phone_prompts_that_replaced_substring_matching() -> None:
    assert ERRORS["conference.moderator_only"].prompt == "moderator_only"
    assert ERRORS["room.full"].prompt == "conference_full"
    # "moderator" in the code used to pick the moderator prompt for this one too.
    assert ERRORS["room.owner_is_moderator"].prompt is None


def test_an_unregistered_code_warns_and_gets_the_defaults() -> None:
    with pytest.warns(UnregisteredErrorCode):
        assert kind_of("thing.not_found") == ErrorKind("thing.not_found", 404)
    with pytest.warns(UnregisteredErrorCode):
        assert kind_of("thing.broken").http_status == 422
    with pytest.warns(UnregisteredErrorCode):
        assert DomainError("thing.broken", "x").kind.text_key == GENERIC_TEXT


def test_a_domain_error_knows_its_kind() -> None:
    error = DomainError("room.full", "the room is full")
    assert error.kind is ERRORS["room.full"]
    assert error.code == "room.full"


@pytest.mark.parametrize("code", ["nodot", "Upper.case", ".x", "x."])
def test_a_kind_needs_an_area_and_a_name(code: str) -> None:
    with pytest.raises(AssertionError):
        ErrorKind(code)


def test_a_kind_has_an_error_status() -> None:
    with pytest.raises(AssertionError):
        ErrorKind("x.y", 200)
