"""Domain errors and the one registry of error codes every channel reads (house rules 3, 7).

A ``DomainError`` carries a stable ``code``; the code itself never changes once published,
so clients may branch on it. What a code means on each channel lives here, once, in
``ERRORS``: the HTTP status of its problem+json (web/problems.py), the phone prompt
(phone/call.py), and the key of the page's text (web/i18n, sent with every socket
``error`` and in the room page's config). Before this table the same knowledge sat in
three hand-kept maps and the page's JavaScript (issue 10, Deliver 4).

A code that is not registered still works at run time (``*.not_found`` is a 404, any
other a 422, the generic text, no prompt of its own) but warns with
``UnregisteredErrorCode``; tests/domain/test_errors.py checks that every code raised in
``src/`` is registered, so the warning should never fire.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

#: The page's text for an error without one of its own ("That did not work: {detail}").
GENERIC_TEXT = "err_generic"


class UnregisteredErrorCode(UserWarning):
    """A code reached a channel without a row in ``ERRORS``: add one."""


@dataclass(frozen=True)
class ErrorKind:
    """One error code as every channel shows it."""

    code: str
    #: The status of its problem+json answer; published, so clients depend on it.
    http_status: int = 422
    #: The prompt a phone caller hears (media/prompts/catalog.py); None: the phone's
    #: own default for the situation (a refused key, a refused join).
    prompt: str | None = None
    #: The key of its text on every page, meeting and panel alike (web/i18n/*.py).
    text_key: str = GENERIC_TEXT
    #: A fresh join would be refused the same way: a page whose resumed join failed
    #: with this code shows it instead of trying again as a new participant.
    final_for_join: bool = False

    def __post_init__(self) -> None:
        area, dot, name = self.code.partition(".")
        assert dot and area and name and self.code == self.code.lower(), self.code
        assert 400 <= self.http_status <= 599, self.code


def _kinds(*kinds: ErrorKind) -> Mapping[str, ErrorKind]:
    table = {k.code: k for k in kinds}
    assert len(table) == len(kinds), "an error code is registered twice"
    return MappingProxyType(table)


K = ErrorKind
ERRORS: Mapping[str, ErrorKind] = _kinds(
    # ------------------------------------------------------------ sign-in and rights
    K("auth.required", 401),
    K("auth.invalid_credentials", 401, text_key="signin_failed"),
    K("auth.forbidden", 403, text_key="panel_err_forbidden"),
    K("auth.account_disabled", 403),
    K("auth.cross_site", 403, text_key="panel_err_forbidden"),
    K("auth.rate_limited", 429, text_key="err_rate_limited", final_for_join=True),
    K("auth.name_required", text_key="err_name_required", final_for_join=True),
    K("access.invalid", 403),
    # ------------------------------------------------------------------ accounts
    K("account.not_found", 404),
    K("account.wrong_password", 403, text_key="panel_err_wrong_password"),
    K("account.self_lockout", 409, text_key="panel_err_account_self_lockout"),
    K("account.email_taken", 409, text_key="panel_err_account_email_taken"),
    K("account.invalid_email", text_key="panel_err_account_invalid_email"),
    K("account.invalid_sms_allowance", text_key="panel_err_account_invalid_sms_allowance"),
    K("account.invalid_time_zone", text_key="panel_err_account_invalid_time_zone"),
    K("account.weak_password", text_key="panel_err_account_weak_password"),
    # --------------------------------------------------------------------- rooms
    K("room.not_found", 404, text_key="panel_err_room_not_found"),
    K("room.full", 409, prompt="conference_full", text_key="err_room_full", final_for_join=True),
    K("room.locked", 409),
    K("room.invalid_capacity", text_key="panel_err_room_invalid_capacity"),
    K("room.invalid_language", text_key="panel_err_room_invalid_language"),
    K("room.invalid_name", text_key="panel_err_room_invalid_name"),
    K("room.invalid_pin_length"),
    K("room.invalid_role"),
    K("room.no_number_free"),
    K("room.owner_is_moderator"),
    # --------------------------------------------------------------- conferences
    K("conference.moderator_only", 403, prompt="moderator_only", text_key="err_moderator_only"),
    K("conference.not_a_participant", 403),
    K("conference.ended", 409, prompt="conference_has_ended", text_key="err_conference_ended"),
    K("conference.not_running", 409),
    K(
        "conference.too_early",
        409,
        prompt="conference_has_ended",
        text_key="err_too_early",
        final_for_join=True,
    ),
    K(
        "conference.window_ended",
        409,
        prompt="conference_has_ended",
        text_key="err_window_ended",
        final_for_join=True,
    ),
    K("conference.nobody_to_remove", 409),
    K("conference.unmute_not_allowed", 409, text_key="err_unmute_not_allowed"),
    K("conference.busy", 503, text_key="err_busy"),
    # Issue 16: the room runs on another node; the channel connects there (socket proxy,
    # SIP relay). 421 Misdirected Request: this node cannot answer for the room, another
    # can; not 409, as nothing is wrong with the conference. Should it reach a page, it
    # says "try again" (the details name the node's internal address, never shown).
    K("conference.elsewhere", 421, text_key="err_busy"),
    K("conference.unknown_participant", 404),
    K("conference.unknown_knocker", 404),
    K("conference.nobody_waiting", prompt="nobody_waiting"),
    K("conference.already_joined"),
    K("conference.cannot_kick_self"),
    K("conference.duplicate_participant"),
    K("conference.not_joined"),
    K("participant.invalid_name", text_key="err_name_invalid", final_for_join=True),
    K("command.unknown"),
    K("command.invalid"),
    K("command.confirmation_required"),
    K("invite.invalid_number", text_key="invite_call_invalid"),
    K("media.no_offer"),
    # ---------------------------------------------- people and calls (F-WB3, F-WB4)
    K("call.not_found", 404, text_key="err_call_not_found"),
    K("call.not_a_contact", 403, text_key="err_call_not_a_contact"),
    K("call.unavailable", 409, text_key="err_call_unavailable"),
    K("call.invalid", text_key="err_call_invalid"),
    K("call.already_ringing", 409, text_key="err_call_already_ringing"),
    K("call.not_yours", 403, text_key="err_call_not_yours", final_for_join=True),
    K("call.over", 409, text_key="err_call_over"),
    K("contact.not_found", 404, text_key="err_contact_not_found"),
    K("contact.invalid", text_key="err_contact_invalid"),
    # ------------------------------------------------------------ chat, invitations
    K("chat.invalid_text"),
    K("chat.rate_limited", 429, text_key="err_rate_limited"),
    K("socket.too_many", 429, text_key="err_too_many_sockets"),
    K("invitation.invalid_email", text_key="invite_mail_invalid"),
    K("invitation.no_recipients"),
    # -------------------------------------------------------------- reservations
    K("reservation.not_found", 404, text_key="panel_err_reservation_not_found"),
    K("reservation.already_started", 409, text_key="panel_err_reservation_already_started"),
    K("reservation.limit_reached", 409, text_key="panel_err_reservation_limit_reached"),
    K("reservation.overlap", 409, text_key="panel_err_reservation_overlap"),
    K("reservation.end_before_start", text_key="panel_err_reservation_end_before_start"),
    K("reservation.end_in_past", text_key="panel_err_reservation_end_in_past"),
    K("reservation.invalid_invitee"),
    K("reservation.naive_time"),
    K("reservation.room_not_bookable"),
    K("reservation.too_far", text_key="panel_err_reservation_too_far"),
    K("reservation.too_long", text_key="panel_err_reservation_too_long"),
    K("reservation.too_many_invitees", text_key="panel_err_reservation_too_many_invitees"),
    K("reservation.too_soon", text_key="panel_err_reservation_too_soon"),
    # ------------------------------------------- room content (issue 12, F-RC1)
    K("board.invalid"),
    K("board.invalid_name", text_key="err_board_invalid_name"),
    K("board.full", 409, text_key="err_board_full"),
    K("board.not_found", 404, text_key="err_board_not_found"),
    K("board.rate_limited", 429, text_key="err_board_rate_limited"),
    K("file.invalid_name", text_key="file_err_invalid_name"),
    K("file.type_refused", 415, text_key="file_err_type_refused"),
    K("file.too_large", 413, text_key="file_err_too_large"),
    K("file.not_found", 404, text_key="file_err_not_found"),
    K("recording.not_found", 404, text_key="err_recording_not_found"),
    K("recording.already_running", 409, text_key="err_recording_already_running"),
    K("recording.not_running", 409, text_key="err_recording_not_running"),
    K("recording.unavailable", 409, text_key="err_recording_unavailable"),
    # ------------------------------------- the channels' own (not DomainErrors)
    K("request.invalid", text_key="panel_err_invalid_input"),
    K("request.too_large", 413),
    K("server.error", 500),
    K("server.busy", 503),  # the database stayed locked (issue 14): try again
    K("server.not_ready", 503),  # /api/health/ready: a check failed (issue 18)
    K("signaling.too_large"),
    K("signaling.invalid_json"),
    K("signaling.invalid"),
    K("signaling.version"),
    K("signaling.unknown_type"),
    K("signaling.media"),
)
del K


def kind_of(code: str) -> ErrorKind:
    """The registered kind of ``code``; an unknown code gets the defaults and a warning."""
    found = ERRORS.get(code)
    if found is not None:
        return found
    warnings.warn(f"error code {code!r} is not in ERRORS", UnregisteredErrorCode, stacklevel=2)
    return ErrorKind(code, 404 if code.endswith(".not_found") else 422)


def page_texts() -> dict[str, str]:
    """Code -> text key for every code with a text of its own: the page's table, sent in
    its config so the JavaScript never copies codes (web/pages.py)."""
    return {k.code: k.text_key for k in ERRORS.values() if k.text_key != GENERIC_TEXT}


def final_join_codes() -> list[str]:
    """The codes after which the page stops rejoining (``final_for_join``), for its config."""
    return sorted(k.code for k in ERRORS.values() if k.final_for_join)


class DomainError(Exception):
    """A rule was broken; nothing was changed."""

    def __init__(self, code: str, detail: str, **context: object) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.context = context

    @property
    def kind(self) -> ErrorKind:
        return kind_of(self.code)

    def __repr__(self) -> str:
        return f"DomainError({self.code!r}, {self.detail!r})"
