"""The invitation mail as an invitee's mail client gets it, over real SMTP (F-RS5)."""

from __future__ import annotations

import socket
from datetime import UTC, datetime
from email.message import EmailMessage

import pytest
from icalendar import Calendar, Event

from confero.app.ports import DeliveryError
from confero.domain.notices import Kind
from confero.notify.email import SmtpMailer, compose
from tests.notify.factory import ADMIN_PIN, START, invitation
from tests.notify.smtp import SmtpSink, smtp_sink

__all__ = ["smtp_sink"]

SENDER = "Confero <confero@confero.example>"
DASH = "\N{EN DASH}"


def mailer(sink: SmtpSink, **options: str) -> SmtpMailer:
    return SmtpMailer(sink.host, sink.port, sender=SENDER, timeout=5, **options)


def parts(message: EmailMessage) -> tuple[str, str, EmailMessage]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    attachments = list(message.iter_attachments())
    assert text is not None and html is not None and len(attachments) == 1
    return text.get_content(), html.get_content(), attachments[0]


def event_of(attachment: EmailMessage) -> tuple[Calendar, Event]:
    cal = Calendar.from_ical(attachment.get_content())
    (event,) = cal.walk("VEVENT")
    assert isinstance(event, Event)
    return cal, event


async def test_polish_room_gets_a_polish_mail_with_local_time_and_calendar_entry(smtp_sink):
    await mailer(smtp_sink).send("bob@example.org", invitation())
    (message,) = await smtp_sink.wait_for(1)

    assert smtp_sink.recipients == [["bob@example.org"]]
    assert message["To"] == "bob@example.org"
    assert message["From"] == SENDER
    assert message["Reply-To"] == "Anna Nowak <anna.nowak@example.org>"
    assert message["Subject"] == "Zaproszenie: Zarząd: przegląd kwartału"
    assert message["Date"] and message["Message-ID"]
    assert message.get_content_type() == "multipart/mixed"

    text, html, attachment = parts(message)
    for body in (text, html):
        assert "Anna Nowak zaprasza Cię na telekonferencję" in body
        assert f"wtorek, 10 listopada 2026, 15:36{DASH}16:36 (Europe/Warsaw)" in body
        assert "223500908" in body and "123456" in body and "654321" in body
        assert "https://confero.example/join/Tq8x2bY" in body
        assert ADMIN_PIN not in body
    assert '<a href="https://confero.example/join/Tq8x2bY">' in html

    assert attachment.get_filename() == "invite.ics"
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "REQUEST"
    assert attachment.get_content_charset() == "utf-8"
    cal, event = event_of(attachment)
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(event["UID"]) == "reservation-42@confero.example"
    assert event.decoded("SEQUENCE") == 0
    assert event.decoded("DTSTART") == START
    assert str(event["ATTENDEE"]) == "mailto:bob@example.org"


@pytest.mark.parametrize(
    ("language", "subject", "when"),
    [
        ("en", "Invitation: Review", f"Tuesday 10 November 2026, 15:36{DASH}16:36 (Europe/Warsaw)"),
        (
            "nl",
            "Uitnodiging: Review",
            f"dinsdag 10 november 2026, 15:36{DASH}16:36 (Europe/Warsaw)",
        ),
        (
            "de",
            "Einladung: Review",
            f"Dienstag, 10. November 2026, 15:36{DASH}16:36 (Europe/Warsaw)",
        ),
        ("xx", "Invitation: Review", f"Tuesday 10 November 2026, 15:36{DASH}16:36 (Europe/Warsaw)"),
    ],
)
def test_each_language_has_its_words_and_date(language, subject, when):
    message = compose("bob@example.org", invitation(language=language, title="Review"), SENDER)
    text, html, _ = parts(message)
    assert message["Subject"] == subject
    assert when in text and when in html


def test_time_zone_of_the_host_decides_the_shown_time():
    message = compose("bob@example.org", invitation(language="en", time_zone="UTC"), SENDER)
    text, _, _ = parts(message)
    assert f"Tuesday 10 November 2026, 14:36{DASH}15:36 (UTC)" in text


@pytest.mark.parametrize(
    ("kind", "subject", "method"),
    [
        (Kind.INVITATION, "Invitation: Review", "REQUEST"),
        (Kind.ADHOC, "Invitation: Review", "REQUEST"),
        (Kind.AT_START, "Invitation: Review starts now", "REQUEST"),
        (Kind.REMINDER, "Reminder: Review starts in 1 hour", "REQUEST"),
        (Kind.UPDATE, "Updated: Review", "REQUEST"),
        (Kind.CANCEL, "Cancelled: Review", "CANCEL"),
    ],
)
def test_subject_and_calendar_method_per_kind(kind, subject, method):
    message = compose(
        "bob@example.org", invitation(kind=kind, language="en", title="Review"), SENDER
    )
    _, _, attachment = parts(message)
    assert message["Subject"] == subject
    assert attachment.get_param("method") == method
    cal, _ = event_of(attachment)
    assert str(cal["METHOD"]) == method


def test_cancel_mail_gives_no_access_data():
    message = compose("bob@example.org", invitation(kind=Kind.CANCEL, language="en"), SENDER)
    text, html, _ = parts(message)
    assert "has been cancelled" in text
    for body in (text, html):
        assert "654321" not in body and "223500908" not in body


def test_without_dial_in_number_there_is_no_dial_in_line():
    message = compose("bob@example.org", invitation(language="en", dial_in_number=""), SENDER)
    text, html, _ = parts(message)
    assert "Dial-in" not in text and "Dial-in" not in html
    assert "Conference number: 123456" in text


async def test_line_breaks_in_names_never_make_headers(smtp_sink):
    evil = invitation(
        title="x\r\nBcc: evil@example.org",
        organizer_name="Eve\r\nX-Injected: yes",
        room_name="r\nCc: evil2@example.org",
        language="en",
    )
    await mailer(smtp_sink).send("bob@example.org", evil)
    (message,) = await smtp_sink.wait_for(1)
    assert smtp_sink.recipients == [["bob@example.org"]]
    assert message["Bcc"] is None and message["Cc"] is None
    assert message["X-Injected"] is None
    assert message["Subject"] == "Invitation: x Bcc: evil@example.org"
    assert "\n" not in message["Subject"] and "\r" not in message["Subject"]


def test_html_escapes_what_users_typed():
    message = compose(
        "bob@example.org",
        invitation(title="<script>alert(1)</script>", organizer_name="A & <b>B</b>"),
        SENDER,
    )
    _, html, _ = parts(message)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>B</b>" not in html and "A &amp; &lt;b&gt;B&lt;/b&gt;" in html


def test_only_web_links_are_clickable():
    message = compose("bob@example.org", invitation(join_url="javascript:alert(1)"), SENDER)
    _, html, _ = parts(message)
    assert "href" not in html


async def test_smtp_down_is_a_transient_error_and_works_once_it_is_back(smtp_sink):
    smtp_sink.stop()
    with pytest.raises(DeliveryError) as refused:
        await mailer(smtp_sink).send("bob@example.org", invitation())
    assert refused.value.permanent is False
    assert "unreachable" in refused.value.detail

    smtp_sink.start()
    await mailer(smtp_sink).send("bob@example.org", invitation())
    assert len(await smtp_sink.wait_for(1)) == 1


async def test_silent_server_is_a_transient_timeout():
    with socket.socket() as silent:  # accepts connections, never greets
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        slow = SmtpMailer("127.0.0.1", port, sender=SENDER, timeout=0.3)
        with pytest.raises(DeliveryError) as timed_out:
            await slow.send("bob@example.org", invitation())
    assert timed_out.value.permanent is False
    assert "timed out" in timed_out.value.detail


async def test_refused_recipient_is_a_permanent_error(smtp_sink):
    smtp_sink.refuse("nobody@example.org")
    with pytest.raises(DeliveryError) as refused:
        await mailer(smtp_sink).send("nobody@example.org", invitation())
    assert refused.value.permanent is True
    assert "550" in refused.value.detail
    assert smtp_sink.messages == []


async def test_deferred_recipient_is_a_transient_error(smtp_sink):
    smtp_sink.defer("busy@example.org")
    with pytest.raises(DeliveryError) as deferred:
        await mailer(smtp_sink).send("busy@example.org", invitation())
    assert deferred.value.permanent is False
    assert "451" in deferred.value.detail


async def test_unwritable_address_is_a_permanent_error(smtp_sink):
    with pytest.raises(DeliveryError) as refused:
        await mailer(smtp_sink).send("not an address", invitation())
    assert refused.value.permanent is True


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
async def test_login_with_username_and_password():
    sink = SmtpSink(credentials=("confero", "s3cret"))
    sink.start()
    try:
        await mailer(sink, username="confero", password="s3cret").send(
            "bob@example.org", invitation()
        )
        assert len(await sink.wait_for(1)) == 1
        with pytest.raises(DeliveryError) as refused:
            await mailer(sink, username="confero", password="wrong").send(
                "bob@example.org", invitation()
            )
        assert refused.value.permanent is False
        assert "login refused" in refused.value.detail
        assert "s3cret" not in refused.value.detail and "wrong" not in refused.value.detail
    finally:
        sink.stop()


def test_settings_are_checked():
    for bad in ({"tls": "ssl"}, {"timeout": 0}):
        with pytest.raises(ValueError):
            SmtpMailer("127.0.0.1", 25, sender=SENDER, **bad)
    with pytest.raises(ValueError):
        SmtpMailer("", 25, sender=SENDER)
    with pytest.raises(ValueError):
        SmtpMailer("127.0.0.1", 25, sender="Confero")
    with pytest.raises(ValueError):
        SmtpMailer("127.0.0.1", 0, sender=SENDER)


def test_date_header_comes_from_the_given_time():
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    message = compose("bob@example.org", invitation(), SENDER, now=now)
    assert message["Date"].datetime == now
