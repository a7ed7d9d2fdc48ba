"""What the IVR asks to say, turned into the prompt ids of the recorded clips.

Why here and not in :mod:`confero.phone.ivr`: ``SayCount``/``SayTime`` are what the call
script hands to ``CallIO.play``, and the media side must expand them into clips without
importing the phone layer (which pulls in the application services). ``confero.phone.ivr``
re-exports both, so ``confero.phone.ivr.SayCount`` keeps working.

Each language's grammar lives in :func:`words`: English "one hundred and five" and
12-hour times with a.m./p.m.; Dutch and German 24-hour times with "uur"/"Uhr"; Polish
feminine ordinal hours after "o godzinie" and the 2-4 plural ("są trzy osoby").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["SayCount", "SayTime", "Speech", "number_words", "words"]


@dataclass(frozen=True)
class SayCount:
    """ "There are N participants" in the room's language (N may be 0: "you are first")."""

    n: int


@dataclass(frozen=True)
class SayTime:
    """A clock time (as the caller's clock shows it), with day and month if not today."""

    when: datetime
    with_date: bool


#: One item of ``CallIO.play``: a prompt id, a count or a time.
Speech = str | SayCount | SayTime


def number_words(n: int, language: str, *, feminine: bool = False) -> list[str]:
    """Clip ids saying the integer ``n`` (>= 0); above 999 digit by digit.

    ``feminine`` selects Polish "dwie" for a final two (counting "osoby").
    """
    if n < 0:
        raise ValueError(f"cannot say negative number {n}")
    if n > 999:
        return [f"n{digit}" for digit in str(n)]
    hundreds, rest = divmod(n, 100)
    ids: list[str] = []
    if hundreds:
        ids.append(f"n{hundreds * 100}")
        if rest and language == "en":
            ids.append("and")
    if rest or not hundreds:
        if feminine and language == "pl" and rest % 10 == 2 and rest != 12:
            ids += ([f"n{rest - 2}"] if rest > 2 else []) + ["n2_fem"]
        else:
            ids.append(f"n{rest}")
    return ids


def _count(n: int, language: str) -> list[str]:
    if n <= 0:
        return ["you_are_first"]
    if n == 1:
        return ["there_is_one"]
    if language == "pl" and n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        return ["there_are_few", *number_words(n, language, feminine=True), "participants_few"]
    return ["there_are", *number_words(n, language, feminine=language == "pl"), "participants"]


def _time(when: datetime, with_date: bool, language: str) -> list[str]:
    hour, minute = when.hour, when.minute
    ids = [f"h{hour}"]
    if language in ("nl", "de"):
        ids.append("oclock")  # "veertien uur dertig", "vierzehn Uhr dreißig"
    if minute:
        if minute < 10 and language in ("en", "pl"):
            ids.append("oh")  # "nine oh five", "dziewiątej zero pięć"
        ids.append(f"n{minute}")
    if language == "en":
        ids.append("am" if hour < 12 else "pm")
    if with_date:
        day, month = f"d{when.day}", f"m{when.month}"
        # "on March the fifth"; "op vijf maart", "am fünften März", "dnia piątego marca"
        ids += ["date_on", month, day] if language == "en" else ["date_on", day, month]
    return ids


def words(item: Speech, language: str) -> list[str]:
    """The clip ids that say ``item`` in ``language`` (unknown languages follow English)."""
    if isinstance(item, str):
        return [item]
    if isinstance(item, SayCount):
        return _count(item.n, language)
    return _time(item.when, item.with_date, language)
