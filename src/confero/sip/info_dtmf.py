"""Keys pressed as SIP INFO bodies (``application/dtmf-relay``, ``application/dtmf``).

Why here and not in ``media/dtmf``: an INFO body is signalling, read and answered by the
user agent (``SipCall._info``: 200, or 400/415 for a body it cannot read), and the house
says SIP knows nothing of media (ARCHITECTURE rule 1; issue 10). The RFC 4733 events in
the RTP stream stay in ``media/dtmf``; both end in the same callback of the phone call.
The key alphabet (``0-9 * # A-D``, RFC 4733 section 3.2) is the one both share.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

__all__ = [
    "DTMF_KEYS",
    "DtmfRelay",
    "InfoDtmfError",
    "build_dtmf_relay",
    "parse_dtmf_relay",
    "parse_info_body",
]

#: The sixteen keys, in the order of their event codes (``Signal=10`` is ``*``).
DTMF_KEYS: Final = "0123456789*#ABCD"
_NUMERIC: Final = {str(i): DTMF_KEYS[i] for i in range(16)}
_MAX_DURATION_DIGITS: Final = 6


class InfoDtmfError(ValueError):
    """An INFO body that is not a readable key press."""


@dataclass(frozen=True, slots=True)
class DtmfRelay:
    """A digit from a SIP INFO request."""

    signal: str
    duration_ms: int = 250


def _signal(value: str) -> str:
    value = value.strip()
    if value in _NUMERIC:
        return _NUMERIC[value]  # 10 and 11 mean * and # for some senders
    if len(value) == 1 and value.upper() in DTMF_KEYS:
        return value.upper()
    raise InfoDtmfError(f"{value!r} is not a DTMF signal")


def parse_dtmf_relay(body: str | bytes) -> DtmfRelay:
    """Parse an ``application/dtmf-relay`` body: ``Signal=5\\r\\nDuration=160\\r\\n``.

    Keys are case-insensitive and whitespace around ``=`` is allowed; Duration (ms) is
    optional (default 250).
    """
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    fields: dict[str, str] = {}
    for line in re.split(r"\r\n|\r|\n", body):
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise InfoDtmfError(f"dtmf-relay line without '=': {line[:40]!r}")
        fields[key.strip().lower()] = value.strip()
    if "signal" not in fields:
        raise InfoDtmfError("dtmf-relay body without Signal")
    signal = _signal(fields["signal"])
    duration = 250
    if "duration" in fields:
        text = fields["duration"]
        if not text.isascii() or not text.isdigit() or len(text) > _MAX_DURATION_DIGITS:
            raise InfoDtmfError(f"bad dtmf-relay Duration {text[:20]!r}")
        duration = int(text)
    return DtmfRelay(signal, duration)


def parse_info_body(content_type: str, body: str | bytes) -> DtmfRelay:
    """A digit from a SIP INFO: ``application/dtmf-relay`` or ``application/dtmf`` (the
    key alone)."""
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/dtmf-relay":
        return parse_dtmf_relay(body)
    if kind == "application/dtmf":
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
        return DtmfRelay(_signal(text))
    raise InfoDtmfError(f"not a DTMF INFO body: {content_type[:60]!r}")


def build_dtmf_relay(digit: str, duration_ms: int = 250) -> str:
    """An ``application/dtmf-relay`` body for sending a digit by SIP INFO."""
    key = digit.upper()
    if len(key) != 1 or key not in DTMF_KEYS:
        raise InfoDtmfError(f"{digit!r} is not a DTMF key")
    return f"Signal={key}\r\nDuration={int(duration_ms)}\r\n"
