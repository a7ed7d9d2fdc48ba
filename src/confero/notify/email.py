"""The invitation mail and the SMTP adapter that sends it (F-RS5; the ``Mailer`` port).

A mail is text and HTML in the room's language, the time in the host's time zone, and
the ``.ics`` that puts it in the invitee's calendar. Everything a user typed (title, room
and organizer names) goes into headers on one line only, so a line break can never add a
header (no ``Bcc:`` injection), and into HTML escaped.

Failures become ``DeliveryError``: a server that is down, slow or answers 4xx is worth
another try later; a recipient refused with 5xx is not.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

import aiosmtplib

from confero.app.ports import DeliveryError
from confero.domain.notices import Invitation
from confero.notify import ics, texts

TLS_MODES = ("none", "starttls", "tls")


def subject(invitation: Invitation) -> str:
    words = texts.catalog(invitation.language)
    return texts.one_line(words.subjects[invitation.kind].format(title=texts.title(invitation)))


def _intro(invitation: Invitation) -> str:
    words = texts.catalog(invitation.language)
    return words.intros[invitation.kind].format(
        organizer=texts.one_line(invitation.organizer_name) or words.organizer,
        title=texts.title(invitation),
    )


def _rows(invitation: Invitation) -> list[tuple[str, str]]:
    """(label, value) of what the mail shows; no dial-in row when there is no number."""
    words = texts.catalog(invitation.language)
    rows = [(words.when, texts.when(invitation))]
    if not invitation.cancelled:
        if invitation.dial_in_number:
            rows.append((words.dial_in, invitation.dial_in_number))
        rows.append((words.conference_number, invitation.conference_number))
        rows.append((words.pin, invitation.pin))
    if invitation.organizer_name or invitation.organizer_email:
        organizer = texts.one_line(invitation.organizer_name)
        if invitation.organizer_email:
            organizer = f"{organizer} <{invitation.organizer_email}>".strip()
        rows.append((words.organizer, organizer))
    return rows


def text_body(invitation: Invitation) -> str:
    words = texts.catalog(invitation.language)
    lines = [_intro(invitation), ""]
    lines += [f"{label}: {value}" for label, value in _rows(invitation)]
    if invitation.join_url and not invitation.cancelled:
        lines += ["", f"{words.join}: {invitation.join_url}"]
    lines += ["", "-- ", words.footer]
    return "\n".join(lines) + "\n"


def _link(url: str, label: str) -> str:
    """A link only to http(s); anything else is shown as text."""
    if url.lower().startswith(("https://", "http://")):
        return f'<a href="{html.escape(url)}">{html.escape(label)}</a>'
    return html.escape(url)


def html_body(invitation: Invitation) -> str:
    words = texts.catalog(invitation.language)
    rows = "\n".join(
        f'<tr><th align="left">{html.escape(label)}</th><td>{html.escape(value)}</td></tr>'
        for label, value in _rows(invitation)
    )
    join = ""
    if invitation.join_url and not invitation.cancelled:
        join = f"<p>{_link(invitation.join_url, words.join)}</p>"
    lang = texts.language_code(invitation.language)
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{html.escape(subject(invitation))}</title></head><body>\n"
        f"<p>{html.escape(_intro(invitation))}</p>\n<table>\n{rows}\n</table>\n{join}\n"
        f"<p><small>{html.escape(words.footer)}</small></p>\n</body></html>\n"
    )


def _domain(sender: str) -> str:
    _, address = parseaddr(sender)
    return address.rpartition("@")[2] or "localhost"


def compose(
    to: str, invitation: Invitation, sender: str, *, now: datetime | None = None
) -> EmailMessage:
    """The mail to ``to``: text and HTML alternatives and ``invite.ics``.

    Raises (``ValueError``, ``HeaderParseError``) for an address that cannot be a header;
    ``SmtpMailer`` turns that into a permanent ``DeliveryError``."""
    moment = now or datetime.now(UTC)
    message = EmailMessage()
    message["Subject"] = subject(invitation)
    message["From"] = texts.one_line(sender)
    message["To"] = Address(addr_spec=texts.one_line(to))
    if invitation.organizer_email:
        try:
            message["Reply-To"] = Address(
                display_name=texts.one_line(invitation.organizer_name),
                addr_spec=texts.one_line(invitation.organizer_email),
            )
        except (ValueError, IndexError):  # a malformed organizer address: no Reply-To
            del message["Reply-To"]
    message["Date"] = format_datetime(moment.astimezone(UTC))
    message["Message-ID"] = make_msgid(domain=_domain(sender))
    message["Content-Language"] = texts.language_code(invitation.language)
    message.set_content(text_body(invitation))
    message.add_alternative(html_body(invitation), subtype="html")
    method = ics.method(invitation)
    message.add_attachment(
        ics.calendar(invitation, attendee=to, now=moment),
        maintype="text",
        subtype="calendar",
        filename="invite.ics",
        params={"method": method, "charset": "utf-8"},
    )
    return message


class SmtpMailer:
    """The ``Mailer`` port over SMTP (aiosmtplib)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        username: str = "",
        password: str = "",
        tls: str = "none",
        timeout: float = 10.0,
    ) -> None:
        if not host:
            raise ValueError("SMTP host is empty")
        if not 0 < port < 65536:
            raise ValueError(f"SMTP port out of range: {port}")
        if tls not in TLS_MODES:
            raise ValueError(f"SMTP TLS mode must be one of {', '.join(TLS_MODES)}: {tls!r}")
        if timeout <= 0:
            raise ValueError("SMTP timeout must be positive")
        if "@" not in parseaddr(sender)[1]:
            raise ValueError(f"mail sender needs an address: {sender!r}")
        self.host = host
        self.port = port
        self.sender = sender
        self._username = username
        self._password = password
        self._tls = tls
        self._timeout = timeout

    async def send(self, to: str, invitation: Invitation) -> None:
        try:
            message = compose(to, invitation, self.sender)
        except Exception as error:
            raise DeliveryError(
                f"cannot write the mail to {to!r}: {error}", permanent=True
            ) from error
        try:
            await aiosmtplib.send(
                message,
                recipients=[texts.one_line(to)],
                hostname=self.host,
                port=self.port,
                username=self._username or None,
                password=self._password or None,
                use_tls=self._tls == "tls",
                start_tls=self._tls == "starttls",
                timeout=self._timeout,
            )
        except Exception as error:
            raise _delivery_error(error, f"{self.host}:{self.port}") from error


def _delivery_error(error: Exception, server: str) -> DeliveryError:
    """What went wrong, said for the panel; permanent only for a 5xx refusal of the
    recipient or of the message itself."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [refusal.code for refusal in error.recipients]
        reasons = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        permanent = bool(codes) and all(500 <= code < 600 for code in codes)
        return DeliveryError(f"recipient refused: {reasons}", permanent=permanent)
    if isinstance(error, aiosmtplib.SMTPRecipientRefused | aiosmtplib.SMTPDataError):
        what = "recipient" if isinstance(error, aiosmtplib.SMTPRecipientRefused) else "message"
        return DeliveryError(
            f"{what} refused: {error.code} {error.message}", permanent=500 <= error.code < 600
        )
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return DeliveryError(f"SMTP login refused by {server}: {error.code} {error.message}")
    if isinstance(error, TimeoutError):
        return DeliveryError(f"SMTP server {server} timed out")
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return DeliveryError(f"SMTP server {server} answered {error.code} {error.message}")
    if isinstance(error, OSError):
        return DeliveryError(f"SMTP server {server} unreachable: {error}")
    return DeliveryError(f"SMTP to {server} failed: {type(error).__name__}: {error}")
