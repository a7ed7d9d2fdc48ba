"""Every voice prompt as text, per language: the single source for the recorded clips.

Why text lives in code: ``scripts/gen_prompts.py`` turns each entry into
``audio/<lang>/<id>.ul`` offline, so the server plays fixed clips and needs no TTS at run
time; the tests check that every id here has a clip in every language and vice versa.

Besides whole sentences there are word clips that :mod:`.speech` strings together:

* ``n0`` .. ``n99`` (one clip each, since Dutch and German say the units before the tens:
  "eenentwintig", "einundzwanzig") and ``n100`` .. ``n900``; ``n2_fem`` is the feminine
  "two" Polish needs before "osoby" ("dwie osoby").
* ``h0`` .. ``h23``: the hour in the form a clock time takes after ``conference_starts_at``:
  English on the 12-hour clock ("two" for 14, followed by ``am``/``pm``), Dutch and German
  cardinals ("ein Uhr"), Polish feminine ordinals in the locative, after "o godzinie"
  ("czternastej").
* ``d1`` .. ``d31`` and ``m1`` .. ``m12``: day of month and month in the form dates take:
  "on March the fifth", "op vijf maart" (Dutch uses cardinals), "am fünften März",
  "dnia piątego marca" (genitive).
* joiners: ``and`` (English hundreds), ``oh`` (English and Polish minutes 1-9), ``oclock``
  (Dutch "uur", German "Uhr"), ``am``/``pm``, ``date_on``, and the Polish plural forms
  ``there_are_few``/``participants_few`` (2-4, 22-24, ...: "są trzy osoby").

Every id exists in every language, even where a language never uses it (its text is then
the closest natural equivalent), so a missing clip is always a bug the tests can see.
"""

from __future__ import annotations

from typing import Final

from confero.media.prompts.number_words import Texts, word_clips

__all__ = ["LANGUAGES", "TEXTS", "prompt_ids"]

#: Languages with a full set of clips; ``en`` is the fallback.
LANGUAGES: Final = ("en", "nl", "de", "pl")

_SENTENCES: Final[Texts] = {
    # --- dial-in IVR -----------------------------------------------------------------
    "welcome_press_1": {
        "en": "Welcome to the conference service. Press one to join a conference.",
        "nl": "Welkom bij de vergaderdienst. Druk op één om deel te nemen aan een vergadering.",
        "de": "Willkommen beim Konferenzdienst. Drücken Sie die Eins, "
        "um an einer Konferenz teilzunehmen.",
        "pl": "Witamy w usłudze konferencyjnej. Aby dołączyć do konferencji, naciśnij jeden.",
    },
    "welcome": {
        "en": "Welcome to the conference.",
        "nl": "Welkom bij de vergadering.",
        "de": "Willkommen in der Konferenz.",
        "pl": "Witamy w konferencji.",
    },
    "are_you_still_there": {
        "en": "Are you still there?",
        "nl": "Bent u er nog?",
        "de": "Sind Sie noch da?",
        "pl": "Czy nadal jesteś na linii?",
    },
    "goodbye": {
        "en": "Goodbye.",
        "nl": "Tot ziens.",
        "de": "Auf Wiederhören.",
        "pl": "Do widzenia.",
    },
    "enter_conference_number": {
        "en": "Please enter the conference number, followed by the hash key.",
        "nl": "Voer het vergadernummer in, gevolgd door het hekje.",
        "de": "Bitte geben Sie die Konferenznummer ein, gefolgt von der Rautetaste.",
        "pl": "Wprowadź numer konferencji i naciśnij krzyżyk.",
    },
    "invalid_conference_number": {
        "en": "That conference number is not valid.",
        "nl": "Dit vergadernummer is ongeldig.",
        "de": "Diese Konferenznummer ist ungültig.",
        "pl": "Nieprawidłowy numer konferencji.",
    },
    "enter_pin": {
        "en": "Please enter the PIN, followed by the hash key.",
        "nl": "Voer de pincode in, gevolgd door het hekje.",
        "de": "Bitte geben Sie die Pin ein, gefolgt von der Rautetaste.",
        "pl": "Wprowadź kod pin i naciśnij krzyżyk.",
    },
    "invalid_pin": {
        "en": "That PIN is not valid.",
        "nl": "Deze pincode is ongeldig.",
        "de": "Diese Pin ist ungültig.",
        "pl": "Nieprawidłowy kod pin.",
    },
    "too_many_attempts": {
        "en": "Too many failed attempts.",
        "nl": "Te veel mislukte pogingen.",
        "de": "Zu viele Fehlversuche.",
        "pl": "Zbyt wiele nieudanych prób.",
    },
    "conference_starts_at": {
        "en": "This conference starts at",
        "nl": "Deze vergadering begint om",
        "de": "Diese Konferenz beginnt um",
        "pl": "Ta konferencja zaczyna się o godzinie",
    },
    "conference_has_ended": {
        "en": "This conference has ended.",
        "nl": "Deze vergadering is afgelopen.",
        "de": "Diese Konferenz ist beendet.",
        "pl": "Ta konferencja już się zakończyła.",
    },
    "record_name": {
        "en": "After the tone, say your name, then press the hash key.",
        "nl": "Zeg na de toon uw naam en druk daarna op het hekje.",
        "de": "Nennen Sie nach dem Signalton Ihren Namen und drücken Sie dann die Rautetaste.",
        "pl": "Po sygnale powiedz swoje imię i naciśnij krzyżyk.",
    },
    "conference_full": {
        "en": "This conference is full.",
        "nl": "Deze vergadering is vol.",
        "de": "Diese Konferenz ist voll besetzt.",
        "pl": "W tej konferencji nie ma już wolnych miejsc.",
    },
    # --- recording (issue 12): every caller hears it when it starts and on entry ------
    "recording_started": {
        "en": "This conference is being recorded.",
        "nl": "Deze vergadering wordt opgenomen.",
        "de": "Diese Konferenz wird aufgezeichnet.",
        "pl": "Ta konferencja jest nagrywana.",
    },
    "recording_stopped": {
        "en": "The recording has stopped.",
        "nl": "De opname is gestopt.",
        "de": "Die Aufzeichnung wurde beendet.",
        "pl": "Nagrywanie zostało zakończone.",
    },
    "conference_locked_wait": {
        "en": "The conference is locked. Please wait to be admitted.",
        "nl": "De vergadering is vergrendeld. Wacht alstublieft tot u wordt toegelaten.",
        "de": "Die Konferenz ist gesperrt. Bitte warten Sie, bis Sie zugelassen werden.",
        "pl": "Konferencja jest zablokowana. Zaczekaj, aż moderator cię wpuści.",
    },
    "knock_timeout": {
        "en": "Nobody has let you in.",
        "nl": "Niemand heeft u toegelaten.",
        "de": "Niemand hat Sie hereingelassen.",
        "pl": "Nikt cię nie wpuścił.",
    },
    "admission_denied": {
        "en": "The moderator did not admit you.",
        "nl": "De moderator heeft u niet toegelaten.",
        "de": "Der Moderator hat Sie nicht zugelassen.",
        "pl": "Moderator nie wpuścił cię do konferencji.",
    },
    # --- participant counts (SayCount) -----------------------------------------------
    "there_are": {
        "en": "There are",
        "nl": "Er zijn",
        "de": "Es sind",
        "pl": "W konferencji jest",
    },
    "participants": {
        "en": "participants in the conference.",
        "nl": "deelnemers in de vergadering.",
        "de": "Teilnehmer in der Konferenz.",
        "pl": "osób.",
    },
    "there_are_few": {
        "en": "There are",
        "nl": "Er zijn",
        "de": "Es sind",
        "pl": "W konferencji są",
    },
    "participants_few": {
        "en": "participants in the conference.",
        "nl": "deelnemers in de vergadering.",
        "de": "Teilnehmer in der Konferenz.",
        "pl": "osoby.",
    },
    "there_is_one": {
        "en": "There is one other participant in the conference.",
        "nl": "Er is één andere deelnemer in de vergadering.",
        "de": "Es ist ein weiterer Teilnehmer in der Konferenz.",
        "pl": "W konferencji jest jeszcze jedna osoba.",
    },
    "you_are_first": {
        "en": "You are the first participant.",
        "nl": "U bent de eerste deelnemer.",
        "de": "Sie sind der erste Teilnehmer.",
        "pl": "Jesteś pierwszą osobą w konferencji.",
    },
    # --- in the call -----------------------------------------------------------------
    "you_are_muted": {
        "en": "You are muted.",
        "nl": "Uw microfoon is uitgeschakeld.",
        "de": "Ihr Mikrofon ist stummgeschaltet.",
        "pl": "Twój mikrofon jest wyciszony.",
    },
    "you_are_unmuted": {
        "en": "You are unmuted.",
        "nl": "Uw microfoon is ingeschakeld.",
        "de": "Ihr Mikrofon ist eingeschaltet.",
        "pl": "Twój mikrofon jest włączony.",
    },
    "muted_by_moderator": {
        "en": "The moderator has muted you.",
        "nl": "De moderator heeft uw microfoon uitgeschakeld.",
        "de": "Der Moderator hat Ihr Mikrofon stummgeschaltet.",
        "pl": "Moderator wyciszył twój mikrofon.",
    },
    "announcements_off": {
        "en": "Announcements of participants are off.",
        "nl": "Meldingen van deelnemers staan uit.",
        "de": "Ansagen von Teilnehmern sind ausgeschaltet.",
        "pl": "Zapowiedzi uczestników są wyłączone.",
    },
    "announcements_on": {
        "en": "Announcements of participants are on.",
        "nl": "Meldingen van deelnemers staan aan.",
        "de": "Ansagen von Teilnehmern sind eingeschaltet.",
        "pl": "Zapowiedzi uczestników są włączone.",
    },
    "participants_present": {
        "en": "The participants are:",
        "nl": "De deelnemers zijn:",
        "de": "Die Teilnehmer sind:",
        "pl": "W konferencji uczestniczą:",
    },
    "no_one_else": {
        "en": "There is no one else in the conference.",
        "nl": "Er is verder niemand in de vergadering.",
        "de": "Es ist sonst niemand in der Konferenz.",
        "pl": "W konferencji nie ma nikogo więcej.",
    },
    "unnamed_participant": {
        "en": "a participant",
        "nl": "een deelnemer",
        "de": "ein Teilnehmer",
        "pl": "uczestnik",
    },
    "has_joined": {
        "en": "has joined the conference.",
        "nl": "neemt nu deel aan de vergadering.",
        "de": "ist der Konferenz beigetreten.",
        "pl": "dołącza do konferencji.",
    },
    "has_left": {
        "en": "has left the conference.",
        "nl": "heeft de vergadering verlaten.",
        "de": "hat die Konferenz verlassen.",
        "pl": "opuszcza konferencję.",
    },
    "louder": {"en": "Louder.", "nl": "Harder.", "de": "Lauter.", "pl": "Głośniej."},
    "softer": {"en": "Softer.", "nl": "Zachter.", "de": "Leiser.", "pl": "Ciszej."},
    "moderator_only": {
        "en": "This is only for the moderator.",
        "nl": "Dit kan alleen de moderator.",
        "de": "Das ist nur für den Moderator möglich.",
        "pl": "Ta funkcja jest dostępna tylko dla moderatora.",
    },
    "all_muted": {
        "en": "All participants are muted.",
        "nl": "Alle deelnemers zijn gedempt.",
        "de": "Alle Teilnehmer sind stummgeschaltet.",
        "pl": "Wszyscy uczestnicy są wyciszeni.",
    },
    "all_unmuted": {
        "en": "All participants are unmuted.",
        "nl": "Het dempen van alle deelnemers is opgeheven.",
        "de": "Die Stummschaltung aller Teilnehmer ist aufgehoben.",
        "pl": "Wyciszenie wszystkich uczestników zostało wyłączone.",
    },
    "conference_locked": {
        "en": "The conference is now locked.",
        "nl": "De vergadering is nu vergrendeld.",
        "de": "Die Konferenz ist jetzt gesperrt.",
        "pl": "Konferencja jest teraz zablokowana.",
    },
    "conference_unlocked": {
        "en": "The conference is now unlocked.",
        "nl": "De vergadering is nu ontgrendeld.",
        "de": "Die Konferenz ist jetzt entsperrt.",
        "pl": "Konferencja jest teraz odblokowana.",
    },
    "participant_removed": {
        "en": "The last participant has been removed.",
        "nl": "De laatste deelnemer is verwijderd.",
        "de": "Der zuletzt beigetretene Teilnehmer wurde entfernt.",
        "pl": "Usunięto ostatniego uczestnika.",
    },
    "you_were_removed": {
        "en": "You have been removed from the conference.",
        "nl": "U bent uit de vergadering verwijderd.",
        "de": "Sie wurden aus der Konferenz entfernt.",
        "pl": "Usunięto cię z konferencji.",
    },
    "host_ended": {
        "en": "The host has ended the conference.",
        "nl": "De organisator heeft de vergadering beëindigd.",
        "de": "Der Gastgeber hat die Konferenz beendet.",
        "pl": "Organizator zakończył konferencję.",
    },
    "ends_in_5_minutes": {
        "en": "This conference ends in five minutes.",
        "nl": "Deze vergadering eindigt over vijf minuten.",
        "de": "Diese Konferenz endet in fünf Minuten.",
        "pl": "Ta konferencja zakończy się za pięć minut.",
    },
    "conference_closed": {
        "en": "The conference has ended.",
        "nl": "De vergadering is beëindigd.",
        "de": "Die Konferenz wurde beendet.",
        "pl": "Konferencja została zakończona.",
    },
    "knocking": {
        "en": "A participant is waiting in the lobby.",
        "nl": "Er wacht een deelnemer in de wachtruimte.",
        "de": "Ein Teilnehmer wartet im Warteraum.",
        "pl": "Uczestnik czeka w poczekalni.",
    },
    "is_waiting": {
        "en": "is waiting to join.",
        "nl": "wacht om deel te nemen.",
        "de": "wartet auf Einlass.",
        "pl": "czeka na wpuszczenie.",
    },
    "nobody_waiting": {
        "en": "Nobody is waiting to join.",
        "nl": "Er wacht niemand om deel te nemen.",
        "de": "Niemand wartet auf Einlass.",
        "pl": "Nikt nie czeka na wpuszczenie.",
    },
    "admitted": {
        "en": "You are admitted to the conference.",
        "nl": "U bent toegelaten tot de vergadering.",
        "de": "Sie wurden zur Konferenz zugelassen.",
        "pl": "Moderator wpuścił cię do konferencji.",
    },
    "enter_phone_number": {
        "en": "Enter the phone number, followed by the hash key.",
        "nl": "Voer het telefoonnummer in, gevolgd door het hekje.",
        "de": "Geben Sie die Telefonnummer ein, gefolgt von der Rautetaste.",
        "pl": "Wprowadź numer telefonu i naciśnij krzyżyk.",
    },
    "calling": {
        "en": "Calling.",
        "nl": "Er wordt gebeld.",
        "de": "Der Anruf wird aufgebaut.",
        "pl": "Trwa łączenie.",
    },
    "invite_failed": {
        "en": "The call could not be made.",
        "nl": "De oproep is mislukt.",
        "de": "Der Anruf konnte nicht hergestellt werden.",
        "pl": "Nie udało się nawiązać połączenia.",
    },
    "invited_press_1": {
        "en": "You are invited to a conference. Press one to join.",
        "nl": "U bent uitgenodigd voor een vergadering. Druk op één om deel te nemen.",
        "de": "Sie sind zu einer Konferenz eingeladen. Drücken Sie die Eins, um teilzunehmen.",
        "pl": "Zaproszono cię do konferencji. Aby dołączyć, naciśnij jeden.",
    },
    "menu_intro": {
        "en": "The keys you can use are:",
        "nl": "U kunt de volgende toetsen gebruiken:",
        "de": "Sie können folgende Tasten verwenden:",
        "pl": "Dostępne klawisze:",
    },
    "not_allowed": {
        "en": "That is not possible now.",
        "nl": "Dat kan nu niet.",
        "de": "Das ist jetzt nicht möglich.",
        "pl": "Teraz nie jest to możliwe.",
    },
    # --- the # menu, one entry per keypad control (confero.domain.controls) ----------
    "menu_hash": {
        "en": "Hash: hear this menu.",
        "nl": "Hekje: dit menu beluisteren.",
        "de": "Raute: dieses Menü anhören.",
        "pl": "Krzyżyk: odsłuchaj to menu.",
    },
    "menu_star_1": {
        "en": "Star one: mute or unmute yourself.",
        "nl": "Sterretje één: uw microfoon uit- of inschakelen.",
        "de": "Stern eins: Ihr Mikrofon stumm- oder einschalten.",
        "pl": "Gwiazdka jeden: wycisz lub włącz swój mikrofon.",
    },
    "menu_star_2": {
        "en": "Star two: announcements of new participants on or off.",
        "nl": "Sterretje twee: meldingen van nieuwe deelnemers aan of uit.",
        "de": "Stern zwei: Ansagen neuer Teilnehmer ein- oder ausschalten.",
        "pl": "Gwiazdka dwa: włącz lub wyłącz zapowiedzi nowych uczestników.",
    },
    "menu_star_3": {
        "en": "Star three: hear who is in the conference.",
        "nl": "Sterretje drie: horen wie er in de vergadering is.",
        "de": "Stern drei: hören, wer in der Konferenz ist.",
        "pl": "Gwiazdka trzy: posłuchaj, kto jest w konferencji.",
    },
    "menu_star_7": {
        "en": "Star seven: softer.",
        "nl": "Sterretje zeven: zachter.",
        "de": "Stern sieben: leiser.",
        "pl": "Gwiazdka siedem: ciszej.",
    },
    "menu_star_9": {
        "en": "Star nine: louder.",
        "nl": "Sterretje negen: harder.",
        "de": "Stern neun: lauter.",
        "pl": "Gwiazdka dziewięć: głośniej.",
    },
    "menu_star_8": {
        "en": "Star eight: invite someone by phone.",
        "nl": "Sterretje acht: iemand telefonisch uitnodigen.",
        "de": "Stern acht: jemanden per Telefon einladen.",
        "pl": "Gwiazdka osiem: zaproś kogoś przez telefon.",
    },
    "menu_star_30": {
        "en": "Star three zero: end the conference for everyone.",
        "nl": "Sterretje drie nul: de vergadering voor iedereen beëindigen.",
        "de": "Stern drei null: die Konferenz für alle beenden.",
        "pl": "Gwiazdka trzy zero: zakończ konferencję dla wszystkich.",
    },
    "menu_star_31": {
        "en": "Star three one: remove the participant who joined last.",
        "nl": "Sterretje drie één: de laatst toegetreden deelnemer verwijderen.",
        "de": "Stern drei eins: den zuletzt beigetretenen Teilnehmer entfernen.",
        "pl": "Gwiazdka trzy jeden: usuń ostatnio dołączonego uczestnika.",
    },
    "menu_star_21": {
        "en": "Star two one: lock the conference.",
        "nl": "Sterretje twee één: de vergadering vergrendelen.",
        "de": "Stern zwei eins: die Konferenz sperren.",
        "pl": "Gwiazdka dwa jeden: zablokuj konferencję.",
    },
    "menu_star_20": {
        "en": "Star two zero: unlock the conference.",
        "nl": "Sterretje twee nul: de vergadering ontgrendelen.",
        "de": "Stern zwei null: die Konferenz entsperren.",
        "pl": "Gwiazdka dwa zero: odblokuj konferencję.",
    },
    "menu_star_22": {
        "en": "Star two two: admit the caller who has waited longest.",
        "nl": "Sterretje twee twee: wie het langst wacht toelaten.",
        "de": "Stern zwei zwei: den am längsten Wartenden zulassen.",
        "pl": "Gwiazdka dwa dwa: wpuść osobę, która czeka najdłużej.",
    },
    "menu_star_11": {
        "en": "Star one one: mute all participants.",
        "nl": "Sterretje één één: alle deelnemers dempen.",
        "de": "Stern eins eins: alle Teilnehmer stummschalten.",
        "pl": "Gwiazdka jeden jeden: wycisz wszystkich uczestników.",
    },
    "menu_star_10": {
        "en": "Star one zero: unmute all participants.",
        "nl": "Sterretje één nul: het dempen van alle deelnemers opheffen.",
        "de": "Stern eins null: die Stummschaltung aller Teilnehmer aufheben.",
        "pl": "Gwiazdka jeden zero: wyłącz wyciszenie wszystkich uczestników.",
    },
    # --- joiners for numbers, times and dates (see the module docstring) -------------
    "and": {"en": "and", "nl": "en", "de": "und", "pl": "i"},
    "oh": {"en": "oh", "nl": "nul", "de": "null", "pl": "zero"},
    "oclock": {"en": "o'clock", "nl": "uur", "de": "Uhr", "pl": "godzina"},
    "am": {"en": "a.m.", "nl": "'s ochtends", "de": "vormittags", "pl": "rano"},
    "pm": {"en": "p.m.", "nl": "'s middags", "de": "nachmittags", "pl": "po południu"},
    "date_on": {"en": "on", "nl": "op", "de": "am", "pl": "dnia"},
    "n2_fem": {"en": "two", "nl": "twee", "de": "zwei", "pl": "dwie"},
}

#: prompt id -> language -> the text spoken.
TEXTS: Final[Texts] = _SENTENCES | word_clips(LANGUAGES)


def prompt_ids() -> list[str]:
    """All prompt ids, sorted (``beep`` is synthesized, not listed)."""
    return sorted(TEXTS)
