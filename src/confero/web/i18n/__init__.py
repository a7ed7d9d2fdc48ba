"""Texts of the browser pages in English, Dutch, German and Polish (F-PH5 for the web).

The page language is chosen on the server (``choose_language``) and the page's texts go
to the browser embedded as JSON, so the JavaScript never guesses. Every language has the
same keys (a test checks it). Keys ending in ``.one``/``.few``/``.many``/``.other`` are
plural forms chosen in the browser with ``Intl.PluralRules``; every language lists all
four so the key sets stay equal (English, Dutch and German repeat ``other``).
Placeholders are ``{name}``; the browser fills them in as text, never as HTML.
"""

from __future__ import annotations

from collections.abc import Mapping

from confero.domain.rooms import Language
from confero.web.i18n import de, en, nl, pl

DEFAULT_LANGUAGE = Language.EN.value
LANGUAGES: tuple[str, ...] = tuple(lang.value for lang in Language)
EN = en.TEXTS
TEXTS: dict[str, dict[str, str]] = {
    "en": en.TEXTS,
    "nl": nl.TEXTS,
    "de": de.TEXTS,
    "pl": pl.TEXTS,
}


def texts(lang: str) -> dict[str, str]:
    """The texts of one language (English for anything unknown)."""
    return TEXTS.get(lang, EN)


def language_names() -> dict[str, str]:
    """Each language in its own name, for the language switch."""
    return {code: TEXTS[code]["lang_name"] for code in LANGUAGES}


def _accepted(header: str) -> list[str]:
    """Accept-Language tags, best first; ``q=0`` means "not this one"."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def choose_language(
    override: str | None = None,
    room_language: str | None = None,
    accept_language: str | None = None,
) -> str:
    """``?lang=`` wins (the visitor's own choice), then the room's language (the host
    chose it for everyone, as for the phone prompts), then the browser's Accept-Language,
    then English."""
    if override and override.lower() in LANGUAGES:
        return override.lower()
    if room_language in LANGUAGES:
        return str(room_language)
    for tag in _accepted(accept_language or ""):
        primary = tag.split("-")[0]
        if primary in LANGUAGES:
            return primary
    return DEFAULT_LANGUAGE


def check(catalog: Mapping[str, Mapping[str, str]] = TEXTS) -> list[str]:
    """Problems with the catalog (missing keys, empty texts); empty when complete."""
    problems: list[str] = []
    reference = set(catalog[DEFAULT_LANGUAGE])
    for lang, table in catalog.items():
        for key in sorted(reference - set(table)):
            problems.append(f"{lang}: missing {key}")
        for key in sorted(set(table) - reference):
            problems.append(f"{lang}: extra {key}")
        problems.extend(f"{lang}: empty {k}" for k, v in table.items() if not v.strip())
    return problems
