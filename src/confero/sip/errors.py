"""The one error SIP parsing raises: its status is the response to send (400, 505).

It imports nothing of ours, not even for typing: ``message`` and ``address`` raise it, so
a reference back to ``message`` would be an import cycle (tests/test_architecture.py).
The request read so far is kept as an ``object``; the transport checks its type.
"""

from __future__ import annotations


class SipParseError(ValueError):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        #: The request as far as it could be read, so that a 400 can still be answered.
        self.request: object | None = None
