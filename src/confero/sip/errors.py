"""The one error SIP parsing raises: its status is the response to send (400, 505)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from confero.sip.message import Request


class SipParseError(ValueError):
    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        #: The request as far as it could be read, so that a 400 can still be answered.
        self.request: Request | None = None
