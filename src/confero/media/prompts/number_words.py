"""The words numbers, clock times and dates are spoken with, per language: one clip
per word so that :mod:`.speech` can say any count or time by concatenation (the
catalog's docstring lists the ids and why each language needs its forms)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

Texts = dict[str, dict[str, str]]


def _split(text: str) -> tuple[str, ...]:
    """Word lists are written as one string: easier to proofread than quoted items."""
    return tuple(text.split())


_EN_UNITS: Final = _split(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen "
    "fourteen fifteen sixteen seventeen eighteen nineteen"
)
_EN_TENS: Final = _split("twenty thirty forty fifty sixty seventy eighty ninety")

_NL_UNITS: Final = _split(
    "nul één twee drie vier vijf zes zeven acht negen tien elf twaalf dertien veertien "
    "vijftien zestien zeventien achttien negentien"
)
_NL_TENS: Final = _split("twintig dertig veertig vijftig zestig zeventig tachtig negentig")

_DE_UNITS: Final = _split(
    "null eins zwei drei vier fünf sechs sieben acht neun zehn elf zwölf dreizehn "
    "vierzehn fünfzehn sechzehn siebzehn achtzehn neunzehn"
)
_DE_TENS: Final = _split("zwanzig dreißig vierzig fünfzig sechzig siebzig achtzig neunzig")

_PL_UNITS: Final = _split(
    "zero jeden dwa trzy cztery pięć sześć siedem osiem dziewięć dziesięć jedenaście "
    "dwanaście trzynaście czternaście piętnaście szesnaście siedemnaście osiemnaście "
    "dziewiętnaście"
)
_PL_TENS: Final = _split(
    "dwadzieścia trzydzieści czterdzieści pięćdziesiąt sześćdziesiąt siedemdziesiąt "
    "osiemdziesiąt dziewięćdziesiąt"
)
_PL_HUNDREDS: Final = _split(
    "sto dwieście trzysta czterysta pięćset sześćset siedemset osiemset dziewięćset"
)


def _cardinal(n: int, language: str) -> str:
    """0..99 as one word group, spelled the way each language writes it."""
    if language == "en":
        if n < 20:
            return _EN_UNITS[n]
        tens, unit = divmod(n, 10)
        return _EN_TENS[tens - 2] + (f"-{_EN_UNITS[unit]}" if unit else "")
    if language == "nl":
        if n < 20:
            return _NL_UNITS[n]
        tens, unit = divmod(n, 10)
        if not unit:
            return _NL_TENS[tens - 2]
        first = "een" if unit == 1 else _NL_UNITS[unit]
        return first + ("ën" if first.endswith("e") else "en") + _NL_TENS[tens - 2]
    if language == "de":
        if n < 20:
            return _DE_UNITS[n]
        tens, unit = divmod(n, 10)
        if not unit:
            return _DE_TENS[tens - 2]
        first = "ein" if unit == 1 else _DE_UNITS[unit]
        return f"{first}und{_DE_TENS[tens - 2]}"
    if n < 20:
        return _PL_UNITS[n]
    tens, unit = divmod(n, 10)
    return _PL_TENS[tens - 2] + (f" {_PL_UNITS[unit]}" if unit else "")


def _hundreds(h: int, language: str) -> str:
    if language == "en":
        return f"{_EN_UNITS[h]} hundred"
    if language == "nl":
        return "honderd" if h == 1 else f"{_NL_UNITS[h]}honderd"
    if language == "de":
        return f"{'ein' if h == 1 else _DE_UNITS[h]}hundert"
    return _PL_HUNDREDS[h - 1]


_PL_HOURS: Final = (
    "zero",
    "pierwszej",
    "drugiej",
    "trzeciej",
    "czwartej",
    "piątej",
    "szóstej",
    "siódmej",
    "ósmej",
    "dziewiątej",
    "dziesiątej",
    "jedenastej",
    "dwunastej",
    "trzynastej",
    "czternastej",
    "piętnastej",
    "szesnastej",
    "siedemnastej",
    "osiemnastej",
    "dziewiętnastej",
    "dwudziestej",
    "dwudziestej pierwszej",
    "dwudziestej drugiej",
    "dwudziestej trzeciej",
)


def _hour(h: int, language: str) -> str:
    if language == "en":
        return _EN_UNITS[h % 12 or 12]
    if language == "de" and h == 1:
        return "ein"  # "ein Uhr", not "eins Uhr"
    if language == "pl":
        return _PL_HOURS[h]
    return _cardinal(h, language)


_EN_ORDINALS: Final = _split(
    "first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
    "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth"
)
_DE_ORDINAL_STEMS: Final = _split(
    "ers zwei drit vier fünf sechs sieb ach neun zehn elf zwölf dreizehn vierzehn "
    "fünfzehn sechzehn siebzehn achtzehn neunzehn"
)
_PL_ORDINALS: Final = _split(
    "pierwszego drugiego trzeciego czwartego piątego szóstego siódmego ósmego "
    "dziewiątego dziesiątego jedenastego dwunastego trzynastego czternastego "
    "piętnastego szesnastego siedemnastego osiemnastego dziewiętnastego dwudziestego"
)


def _day(d: int, language: str) -> str:
    """Day of month as said in a date: ordinal (en, de dative, pl genitive), nl cardinal."""
    if language == "en":
        if d <= 20:
            return f"the {_EN_ORDINALS[d - 1]}"
        if d < 30:
            return f"the twenty-{_EN_ORDINALS[d - 21]}"
        return "the thirtieth" if d == 30 else "the thirty-first"
    if language == "nl":
        return _cardinal(d, "nl")
    if language == "de":
        if d < 20:
            return f"{_DE_ORDINAL_STEMS[d - 1]}ten"
        return f"{_cardinal(d, 'de')}sten"
    if d <= 20:
        return _PL_ORDINALS[d - 1]
    if d < 30:
        return f"dwudziestego {_PL_ORDINALS[d - 21]}"
    return "trzydziestego" if d == 30 else "trzydziestego pierwszego"


_MONTHS: Final = {
    "en": "January February March April May June July August September October November December",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "pl": "stycznia lutego marca kwietnia maja czerwca lipca sierpnia września października "
    "listopada grudnia",
}


def word_clips(languages: Sequence[str]) -> Texts:
    """The word clips of every language: numbers, hours, days and months."""
    texts: Texts = {}
    for lang in languages:
        entries = {f"n{n}": _cardinal(n, lang) for n in range(100)}
        entries |= {f"n{h * 100}": _hundreds(h, lang) for h in range(1, 10)}
        entries |= {f"h{h}": _hour(h, lang) for h in range(24)}
        entries |= {f"d{d}": _day(d, lang) for d in range(1, 32)}
        entries |= {f"m{m}": name for m, name in enumerate(_MONTHS[lang].split(), 1)}
        for prompt_id, text in entries.items():
            texts.setdefault(prompt_id, {})[lang] = text
    return texts
