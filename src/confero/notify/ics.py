"""The calendar entry (RFC 5545/5546 iTIP) that goes with every invitation mail (F-RS5).

One VEVENT per reservation, identified by the reservation's UID: a changed time is the
same UID with a higher SEQUENCE (the calendar moves the entry), a deleted reservation is
METHOD:CANCEL with STATUS:CANCELLED (the calendar removes it). Times are written in UTC,
so no VTIMEZONE is needed. The participant PIN is there; the admin PIN never is (the
``Invitation`` has no field for it).
"""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event, vCalAddress

from confero.domain.notices import Invitation
from confero.notify import texts

PRODID = "-//Confero//Confero teleconference//EN"


def method(invitation: Invitation) -> str:
    """The iTIP method: CANCEL removes the entry, REQUEST adds or updates it."""
    return "CANCEL" if invitation.cancelled else "REQUEST"


def details(invitation: Invitation) -> list[str]:
    """How to join, one line each, in the invitation's language (no empty dial-in)."""
    words = texts.catalog(invitation.language)
    lines = []
    if invitation.dial_in_number:
        lines.append(f"{words.dial_in}: {invitation.dial_in_number}")
    lines.append(f"{words.conference_number}: {invitation.conference_number}")
    lines.append(f"{words.pin}: {invitation.pin}")
    if invitation.join_url:
        lines.append(f"{words.join}: {invitation.join_url}")
    return lines


def _description(invitation: Invitation) -> str:
    words = texts.catalog(invitation.language)
    intro = words.intros[invitation.kind].format(
        organizer=texts.one_line(invitation.organizer_name) or words.organizer,
        title=texts.title(invitation),
    )
    if invitation.cancelled:
        return intro
    return "\n".join([intro, "", *details(invitation)])


def _address(email: str, name: str = "") -> vCalAddress:
    address = vCalAddress(f"mailto:{texts.one_line(email)}")
    if texts.one_line(name):
        address.params["CN"] = texts.one_line(name)
    return address


def _event(invitation: Invitation, attendee: str | None, now: datetime) -> Event:
    event = Event()
    event.add("uid", invitation.uid)
    event.add("sequence", invitation.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", invitation.start.astimezone(UTC))
    event.add("dtend", invitation.end.astimezone(UTC))
    event.add("summary", texts.title(invitation))
    event.add("status", "CANCELLED" if invitation.cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    if invitation.join_url:
        event.add("location", invitation.join_url)
        event.add("url", invitation.join_url)
    event.add("description", _description(invitation))
    if invitation.organizer_email:
        event.add("organizer", _address(invitation.organizer_email, invitation.organizer_name))
    if attendee:
        address = _address(attendee)
        address.params.update(
            {"CUTYPE": "INDIVIDUAL", "ROLE": "REQ-PARTICIPANT", "PARTSTAT": "NEEDS-ACTION"}
        )
        event.add("attendee", address)
    return event


def calendar(
    invitation: Invitation, *, attendee: str | None = None, now: datetime | None = None
) -> bytes:
    """The ``.ics`` of ``invitation`` for ``attendee``; ``now`` is the DTSTAMP."""
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", method(invitation))
    cal.add_component(_event(invitation, attendee, now or datetime.now(UTC)))
    ics: bytes = cal.to_ical()
    return ics
