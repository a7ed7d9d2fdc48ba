"""What the mails, calendar entries and SMS say, in English, Dutch, German and Polish.

F-RS5/F-RS6: a notice speaks the room's language and shows the time in the host's time
zone. Weekday and month names are small tables (no locale database needed); each
language is one frozen ``Catalog``, so a missing text is a type error, not a blank line.
Placeholders are ``{name}`` and are filled with plain text; the HTML mail escapes them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confero.domain.notices import Invitation, Kind

_WHITESPACE = re.compile(r"\s+")
_DASH = "\N{EN DASH}"


def one_line(value: str) -> str:
    """``value`` with every run of whitespace (CR and LF included) as one space: safe in a
    mail header or an iCalendar parameter, never a second line."""
    return _WHITESPACE.sub(" ", value).strip()


@dataclass(frozen=True)
class Catalog:
    weekdays: tuple[str, str, str, str, str, str, str]
    #: The month as it stands after a day number ("10 listopada" in Polish).
    months: tuple[str, str, str, str, str, str, str, str, str, str, str, str]
    #: ``{weekday}``, ``{day}``, ``{month}``, ``{year}``.
    date: str
    subjects: dict[Kind, str]
    #: The mail's first sentence; ``{organizer}``, ``{title}``.
    intros: dict[Kind, str]
    when: str
    dial_in: str
    conference_number: str
    pin: str
    join: str
    organizer: str
    footer: str
    #: The SMS's first sentence (``{date}``, ``{time}`` for the cancel text).
    sms_leads: dict[Kind, str]
    #: ``{date}``, ``{time}``, ``{number}``, ``{conference}``, ``{pin}``.
    sms_call: str
    #: The same without a dial-in number: ``{link}`` instead of ``{number}``.
    sms_link: str

    def __post_init__(self) -> None:
        assert set(self.subjects) == set(Kind), "a subject for every kind"
        assert set(self.intros) == set(Kind), "an intro for every kind"
        assert set(self.sms_leads) == set(Kind), "an SMS lead for every kind"


EN = Catalog(
    weekdays=("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    months=(
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
    date="{weekday} {day} {month} {year}",
    subjects={
        Kind.INVITATION: "Invitation: {title}",
        Kind.ADHOC: "Invitation: {title}",
        Kind.AT_START: "Invitation: {title} starts now",
        Kind.REMINDER: "Reminder: {title} starts in 1 hour",
        Kind.UPDATE: "Updated: {title}",
        Kind.CANCEL: "Cancelled: {title}",
    },
    intros={
        Kind.INVITATION: "{organizer} invites you to the teleconference “{title}”.",
        Kind.ADHOC: "{organizer} invites you to join the teleconference “{title}” now.",
        Kind.AT_START: "{organizer} invites you to the teleconference “{title}”. It starts now.",
        Kind.REMINDER: "Reminder: the teleconference “{title}” starts in 1 hour.",
        Kind.UPDATE: "The time of the teleconference “{title}” has changed.",
        Kind.CANCEL: "The teleconference “{title}” has been cancelled.",
    },
    when="When",
    dial_in="Dial-in number",
    conference_number="Conference number",
    pin="PIN",
    join="Join in the browser",
    organizer="Organizer",
    footer="Sent by Confero. The attached calendar entry keeps your calendar up to date.",
    sms_leads={
        Kind.INVITATION: "You are invited to a teleconference.",
        Kind.ADHOC: "You are invited to a teleconference that is running now.",
        Kind.AT_START: "You are invited to a teleconference that starts now.",
        Kind.REMINDER: "Reminder: your teleconference starts in 1 hour.",
        Kind.UPDATE: "Your teleconference has been moved.",
        Kind.CANCEL: "The teleconference on {date} at {time} has been cancelled.",
    },
    sms_call="On {date} at {time} call {number} and enter conference number {conference} "
    "and PIN {pin}.",
    sms_link="On {date} at {time} join at {link} with conference number {conference} "
    "and PIN {pin}.",
)

NL = Catalog(
    weekdays=("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    months=(
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ),
    date="{weekday} {day} {month} {year}",
    subjects={
        Kind.INVITATION: "Uitnodiging: {title}",
        Kind.ADHOC: "Uitnodiging: {title}",
        Kind.AT_START: "Uitnodiging: {title} begint nu",
        Kind.REMINDER: "Herinnering: {title} begint over 1 uur",
        Kind.UPDATE: "Gewijzigd: {title}",
        Kind.CANCEL: "Geannuleerd: {title}",
    },
    intros={
        Kind.INVITATION: "{organizer} nodigt u uit voor de teleconferentie “{title}”.",
        Kind.ADHOC: "{organizer} nodigt u uit om nu deel te nemen aan de teleconferentie "
        "“{title}”.",
        Kind.AT_START: "{organizer} nodigt u uit voor de teleconferentie “{title}”. Die begint nu.",
        Kind.REMINDER: "Herinnering: de teleconferentie “{title}” begint over 1 uur.",
        Kind.UPDATE: "Het tijdstip van de teleconferentie “{title}” is gewijzigd.",
        Kind.CANCEL: "De teleconferentie “{title}” is geannuleerd.",
    },
    when="Wanneer",
    dial_in="Inbelnummer",
    conference_number="Conferentienummer",
    pin="Pincode",
    join="Deelnemen via de browser",
    organizer="Organisator",
    footer="Verzonden door Confero. De bijgevoegde agenda-afspraak houdt uw agenda actueel.",
    sms_leads={
        Kind.INVITATION: "U bent uitgenodigd voor een teleconferentie.",
        Kind.ADHOC: "U bent uitgenodigd voor een teleconferentie die nu bezig is.",
        Kind.AT_START: "U bent uitgenodigd voor een teleconferentie die nu begint.",
        Kind.REMINDER: "Herinnering: uw teleconferentie begint over 1 uur.",
        Kind.UPDATE: "Uw teleconferentie is verplaatst.",
        Kind.CANCEL: "De teleconferentie op {date} om {time} is geannuleerd.",
    },
    sms_call="Bel op {date} om {time} naar {number} en voer conferentienummer {conference} "
    "en pincode {pin} in.",
    sms_link="Neem op {date} om {time} deel via {link} met conferentienummer {conference} "
    "en pincode {pin}.",
)

DE = Catalog(
    weekdays=(
        "Montag",
        "Dienstag",
        "Mittwoch",
        "Donnerstag",
        "Freitag",
        "Samstag",
        "Sonntag",
    ),
    months=(
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ),
    date="{weekday}, {day}. {month} {year}",
    subjects={
        Kind.INVITATION: "Einladung: {title}",
        Kind.ADHOC: "Einladung: {title}",
        Kind.AT_START: "Einladung: {title} beginnt jetzt",
        Kind.REMINDER: "Erinnerung: {title} beginnt in 1 Stunde",
        Kind.UPDATE: "Geändert: {title}",
        Kind.CANCEL: "Abgesagt: {title}",
    },
    intros={
        Kind.INVITATION: "{organizer} lädt Sie zur Telefonkonferenz „{title}“ ein.",
        Kind.ADHOC: "{organizer} lädt Sie ein, jetzt an der Telefonkonferenz „{title}“ "
        "teilzunehmen.",
        Kind.AT_START: "{organizer} lädt Sie zur Telefonkonferenz „{title}“ ein. "
        "Sie beginnt jetzt.",
        Kind.REMINDER: "Erinnerung: Die Telefonkonferenz „{title}“ beginnt in 1 Stunde.",
        Kind.UPDATE: "Der Termin der Telefonkonferenz „{title}“ wurde geändert.",
        Kind.CANCEL: "Die Telefonkonferenz „{title}“ wurde abgesagt.",
    },
    when="Wann",
    dial_in="Einwahlnummer",
    conference_number="Konferenznummer",
    pin="PIN",
    join="Im Browser teilnehmen",
    organizer="Organisator",
    footer="Gesendet von Confero. Der angehängte Kalendereintrag hält Ihren Kalender aktuell.",
    sms_leads={
        Kind.INVITATION: "Sie sind zu einer Telefonkonferenz eingeladen.",
        Kind.ADHOC: "Sie sind zu einer Telefonkonferenz eingeladen, die gerade läuft.",
        Kind.AT_START: "Sie sind zu einer Telefonkonferenz eingeladen, die jetzt beginnt.",
        Kind.REMINDER: "Erinnerung: Ihre Telefonkonferenz beginnt in 1 Stunde.",
        Kind.UPDATE: "Ihre Telefonkonferenz wurde verschoben.",
        Kind.CANCEL: "Die Telefonkonferenz am {date} um {time} Uhr wurde abgesagt.",
    },
    sms_call="Rufen Sie am {date} um {time} Uhr {number} an und geben Sie die "
    "Konferenznummer {conference} und die PIN {pin} ein.",
    sms_link="Nehmen Sie am {date} um {time} Uhr über {link} teil, mit der Konferenznummer "
    "{conference} und der PIN {pin}.",
)

PL = Catalog(
    weekdays=("poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota", "niedziela"),
    months=(
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "września",
        "października",
        "listopada",
        "grudnia",
    ),
    date="{weekday}, {day} {month} {year}",
    subjects={
        Kind.INVITATION: "Zaproszenie: {title}",
        Kind.ADHOC: "Zaproszenie: {title}",
        Kind.AT_START: "Zaproszenie: {title} zaczyna się teraz",
        Kind.REMINDER: "Przypomnienie: {title} zaczyna się za godzinę",
        Kind.UPDATE: "Zmiana: {title}",
        Kind.CANCEL: "Odwołane: {title}",
    },
    intros={
        Kind.INVITATION: "{organizer} zaprasza Cię na telekonferencję „{title}”.",
        Kind.ADHOC: "{organizer} zaprasza Cię do udziału w telekonferencji „{title}” teraz.",
        Kind.AT_START: "{organizer} zaprasza Cię na telekonferencję „{title}”. Zaczyna się teraz.",
        Kind.REMINDER: "Przypomnienie: telekonferencja „{title}” zaczyna się za godzinę.",
        Kind.UPDATE: "Termin telekonferencji „{title}” został zmieniony.",
        Kind.CANCEL: "Telekonferencja „{title}” została odwołana.",
    },
    when="Kiedy",
    dial_in="Numer dostępowy",
    conference_number="Nr konferencji",
    pin="PIN",
    join="Dołącz w przeglądarce",
    organizer="Organizator",
    footer="Wysłane przez Confero. Załączony wpis kalendarza aktualizuje Twój kalendarz.",
    sms_leads={
        Kind.INVITATION: "Zostałeś zaproszony na telekonferencję.",
        Kind.ADHOC: "Zostałeś zaproszony na trwającą telekonferencję.",
        Kind.AT_START: "Zostałeś zaproszony na telekonferencję, która zaczyna się teraz.",
        Kind.REMINDER: "Przypomnienie: Twoja telekonferencja zaczyna się za godzinę.",
        Kind.UPDATE: "Termin Twojej telekonferencji został zmieniony.",
        Kind.CANCEL: "Telekonferencja w dniu {date} o godz. {time} została odwołana.",
    },
    sms_call="W dniu {date} o godz. {time} zadzwoń na numer {number} i podaj nr konferencji: "
    "{conference} oraz PIN: {pin}.",
    sms_link="W dniu {date} o godz. {time} wejdź na {link} i podaj nr konferencji: "
    "{conference} oraz PIN: {pin}.",
)

CATALOGS: dict[str, Catalog] = {"en": EN, "nl": NL, "de": DE, "pl": PL}


def language_code(language: str) -> str:
    """The catalog's code for ``language`` ("pl", "de-AT", ...); "en" for anything unknown."""
    primary = language.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in CATALOGS else "en"


def catalog(language: str) -> Catalog:
    """The texts of ``language``; English for anything unknown."""
    return CATALOGS[language_code(language)]


def zone(name: str) -> tzinfo:
    """The IANA zone ``name``; UTC when it is unknown (a notice still goes out)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def local(invitation: Invitation, moment: datetime) -> datetime:
    return moment.astimezone(zone(invitation.time_zone))


def long_date(texts: Catalog, moment: datetime) -> str:
    """The date in words: "Tuesday 10 November 2026", "wtorek, 10 listopada 2026"."""
    return texts.date.format(
        weekday=texts.weekdays[moment.weekday()],
        day=moment.day,
        month=texts.months[moment.month - 1],
        year=moment.year,
    )


def when(invitation: Invitation) -> str:
    """The meeting's time in its language and time zone, e.g. "Tuesday 10 November 2026,
    15:36-16:36 (Europe/Warsaw)" (with an en dash); an end on another day gets its date."""
    texts = catalog(invitation.language)
    start, end = local(invitation, invitation.start), local(invitation, invitation.end)
    shown_zone = invitation.time_zone if zone(invitation.time_zone) is not UTC else "UTC"
    if start.date() == end.date():
        span = f"{long_date(texts, start)}, {start:%H:%M}{_DASH}{end:%H:%M}"
    else:
        until = f"{long_date(texts, end)}, {end:%H:%M}"
        span = f"{long_date(texts, start)}, {start:%H:%M} {_DASH} {until}"
    return f"{span} ({shown_zone})"


def title(invitation: Invitation) -> str:
    """The meeting's name on one line: its title, else the room's name."""
    return one_line(invitation.title) or one_line(invitation.room_name)
