"""Turns the digits a caller presses during the call into controls of the keypad table.

The table (``confero.domain.controls``) is the only source of codes: ``*3`` is ambiguous
while ``*30`` and ``*31`` exist, so it fires only after a short pause; ``*8`` collects a
phone number up to ``#``, or up to a pause of ``NUMBER_PAUSE`` once a digit was typed
(issue 10: people do not know they must close a number, and a phone's own dialler does
not ask them to); a lone ``#`` is the menu. An unknown code or an abandoned one (``*8``
and nothing after it) is reported so the caller can hear "not a valid control". Time is
passed in (seconds, monotonic) so the parser is pure and tests never sleep.
"""

from __future__ import annotations

from dataclasses import dataclass

from confero.domain.controls import BY_KEYS, Control, is_prefix

#: Pause after which a complete but extendable code (``*3``) fires.
AMBIGUITY_TIMEOUT = 1.5
#: Pause after which an incomplete code is abandoned.
ABANDON_TIMEOUT = 5.0
#: Pause after the last digit of ``*8``'s number that ends it, as ``#`` would.
NUMBER_PAUSE = 3.0
MAX_NUMBER = 20


@dataclass(frozen=True)
class Pressed:
    control: Control
    #: The digits typed after ``*8`` (without the closing ``#``, if there was one).
    argument: str = ""


@dataclass(frozen=True)
class Invalid:
    keys: str


Result = Pressed | Invalid


class KeypadParser:
    def __init__(self) -> None:
        self._keys = ""
        self._number: str | None = None
        self._last = 0.0

    @property
    def pending(self) -> str:
        return self._keys + (self._number or "")

    def feed(self, digit: str, now: float) -> list[Result]:
        results = self.poll(now)
        self._last = now
        if self._number is not None:  # collecting the number of *8
            control = BY_KEYS[self._keys]

            if digit == "#":
                number, self._keys, self._number = self._number, "", None
                results.append(Pressed(control, number) if number else Invalid(control.keys or ""))
            elif digit.isdigit() and len(self._number) < MAX_NUMBER:
                self._number += digit
            else:
                results.append(Invalid(self._keys + self._number + digit))
                self._keys, self._number = "", None
            return results
        if not self._keys and digit != "*":
            if digit == "#":
                results.append(Pressed(BY_KEYS["#"]))
            else:
                results.append(Invalid(digit))
            return results
        keys = self._keys + digit
        found = BY_KEYS.get(keys)
        if found is not None and found.takes_number:
            self._keys, self._number = keys, ""
        elif found is not None and not is_prefix(keys):
            self._keys = ""
            results.append(Pressed(found))
        elif found is not None or is_prefix(keys):
            self._keys = keys
        elif self._keys in BY_KEYS:  # "*1" then "*": the pending code fires, "*" starts anew
            results.append(Pressed(BY_KEYS[self._keys]))
            self._keys = ""
            results += self.feed(digit, now)
        else:
            self._keys = ""
            results.append(Invalid(keys))
        return results

    def poll(self, now: float) -> list[Result]:
        """Fire or abandon what waited too long; call this on every tick or timer."""
        if not self._keys:
            return []
        idle = now - self._last
        control = BY_KEYS.get(self._keys)
        if self._number and control is not None and now >= self._last + NUMBER_PAUSE:
            number, self._keys, self._number = self._number, "", None
            return [Pressed(control, number)]
        if self._number is None and control is not None and idle >= AMBIGUITY_TIMEOUT:
            self._keys = ""
            return [Pressed(control)]
        if idle >= ABANDON_TIMEOUT:
            keys = self.pending
            self._keys, self._number = "", None
            return [Invalid(keys)]
        return []

    def next_deadline(self) -> float | None:
        """When ``poll`` may have something to say, or None when idle."""
        if not self._keys:
            return None
        if self._number is None and self._keys in BY_KEYS:
            return self._last + AMBIGUITY_TIMEOUT
        if self._number:
            return self._last + NUMBER_PAUSE
        return self._last + ABANDON_TIMEOUT
