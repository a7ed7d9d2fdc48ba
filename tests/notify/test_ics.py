"""The calendar entry a mail client reads: what it adds, moves and removes (F-RS5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar, Event

from confero.domain.notices import Kind
from confero.notify.ics import calendar
from tests.notify.factory import ADMIN_PIN, END, START, invitation


def parse(data: bytes) -> tuple[Calendar, Event]:
    cal = Calendar.from_ical(data)
    (event,) = cal.walk("VEVENT")
    assert isinstance(event, Event)
    return cal, event


def test_request_holds_the_meeting_in_utc_with_uid_and_sequence():
    now = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
    cal, event = parse(calendar(invitation(sequence=2), attendee="bob@example.org", now=now))
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(cal["VERSION"]) == "2.0"
    assert "Confero" in str(cal["PRODID"])
    assert str(event["UID"]) == "reservation-42@confero.example"
    assert event.decoded("SEQUENCE") == 2
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == END
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTSTAMP") == now
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Zarząd: przegląd kwartału"
    assert str(event["LOCATION"]) == "https://confero.example/join/Tq8x2bY"


def test_description_tells_how_to_join_in_the_rooms_language():
    _, event = parse(calendar(invitation()))
    description = str(event["DESCRIPTION"])
    assert "Numer dostępowy: 223500908" in description
    assert "Nr konferencji: 123456" in description
    assert "PIN: 654321" in description
    assert "https://confero.example/join/Tq8x2bY" in description


def test_organizer_and_attendee_are_mail_addresses():
    _, event = parse(calendar(invitation(), attendee="bob@example.org"))
    assert str(event["ORGANIZER"]) == "mailto:anna.nowak@example.org"
    assert event["ORGANIZER"].params["CN"] == "Anna Nowak"
    assert str(event["ATTENDEE"]) == "mailto:bob@example.org"
    assert event["ATTENDEE"].params["ROLE"] == "REQ-PARTICIPANT"


def test_without_attendee_or_title_uses_the_room_name():
    _, event = parse(calendar(invitation(title="")))
    assert "ATTENDEE" not in event
    assert str(event["SUMMARY"]) == "Sala Zarządu"


def test_no_dial_in_number_means_no_dial_in_line():
    _, event = parse(calendar(invitation(dial_in_number="", language="en")))
    description = str(event["DESCRIPTION"])
    assert "Dial-in" not in description
    assert "Conference number: 123456" in description


def test_cancel_removes_the_entry():
    cal, event = parse(calendar(invitation(kind=Kind.CANCEL, sequence=3)))
    assert str(cal["METHOD"]) == "CANCEL"
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == "reservation-42@confero.example"
    assert event.decoded("SEQUENCE") == 3
    assert "654321" not in str(event["DESCRIPTION"])


def test_update_keeps_the_uid_and_raises_the_sequence():
    _, first = parse(calendar(invitation(sequence=0)))
    moved = invitation(kind=Kind.UPDATE, sequence=1, start=START + timedelta(hours=2))
    cal, second = parse(calendar(moved))
    assert str(cal["METHOD"]) == "REQUEST"
    assert str(second["UID"]) == str(first["UID"])
    assert second.decoded("SEQUENCE") > first.decoded("SEQUENCE")
    assert second.decoded("DTSTART") == START + timedelta(hours=2)


def test_never_the_admin_pin_and_names_stay_on_one_line():
    data = calendar(
        invitation(organizer_name="Anna\r\nX-Evil: 1", title="a\r\nb"), attendee="bob@example.org"
    )
    assert ADMIN_PIN.encode() not in data
    _, event = parse(data)
    assert event["ORGANIZER"].params["CN"] == "Anna X-Evil: 1"
    assert str(event["SUMMARY"]) == "a b"
    assert b"\r\nX-Evil" not in data
