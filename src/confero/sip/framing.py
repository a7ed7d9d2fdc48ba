"""Framing SIP over a byte stream (TCP, RFC 3261 §18.3): Content-Length says where one
message ends and the next begins; CRLF keep-alives between messages are skipped."""

from __future__ import annotations

import re

from confero.sip.errors import SipParseError
from confero.sip.message import MAX_MESSAGE, Message, Request, parse


class StreamFramer:
    """Cut a TCP byte stream into messages by Content-Length (§18.3)."""

    def __init__(self, max_message: int = MAX_MESSAGE) -> None:
        self._buffer = bytearray()
        self._max = max_message

    def feed(self, data: bytes) -> list[Message | SipParseError]:
        self._buffer += data
        out: list[Message | SipParseError] = []
        while True:
            # CRLF keep-alives (RFC 5626 §3.5.1) between messages
            while self._buffer[:2] == b"\r\n":
                del self._buffer[:2]
            end = self._buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buffer) > self._max:
                    self._buffer.clear()
                    out.append(SipParseError("message too large", 513))
                return out
            head = bytes(self._buffer[:end])
            m = re.search(rb"(?im)^(?:content-length|l)[ \t]*:[ \t]*(\d{1,9})[ \t]*$", head)
            length = int(m.group(1)) if m else 0
            total = end + 4 + length
            if total > self._max:
                self._buffer.clear()
                out.append(SipParseError("message too large", 513))
                return out
            if len(self._buffer) < total:
                return out
            chunk = bytes(self._buffer[:total])
            del self._buffer[:total]
            try:
                message = parse(chunk, stream=True)
            except SipParseError as exc:
                out.append(exc)
                continue
            if m is None:
                # §18.3: Content-Length is mandatory over a stream; without it what
                # follows cannot be framed. Refuse the message (answerable: 400).
                error = SipParseError("Content-Length is required over TCP")
                error.request = message if isinstance(message, Request) else None
                out.append(error)
            else:
                out.append(message)
