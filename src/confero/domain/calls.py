"""One-on-one video calls as a state machine (F-WB3), pure: no clock, no I/O.

``ringing`` ends in exactly one of ``accepted`` | ``declined`` | ``busy`` | ``no_answer``
| ``cancelled``; ``accepted`` ends in ``ended`` when its call room's conference ends.
A *waiting call* (the callee was in a meeting when called) that is declined or not
answered ends as ``busy``: the caller learns the callee was busy, not that they said no.
Every transition returns a new ``Call``; one from a state that does not allow it raises
``call.over`` (an answer that came too late, a second tab's click) and changes nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from confero.domain.errors import DomainError

#: Longest call id we accept from a client (``token_urlsafe(16)`` makes 22 characters).
MAX_CALL_ID = 64


class CallState(StrEnum):
    RINGING = "ringing"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    CANCELLED = "cancelled"
    ENDED = "ended"


#: States after which nothing happens to the call any more.
FINAL = frozenset(
    {CallState.DECLINED, CallState.BUSY, CallState.NO_ANSWER, CallState.CANCELLED, CallState.ENDED}
)


def new_call_id() -> str:
    """128 random bits: a call id is no key to the call room (its accounts are), but it
    must not be guessable either."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Call:
    id: str
    caller_id: str
    caller_name: str
    callee_id: str
    callee_name: str
    #: The callee was in a meeting when called (the waiting-call dialog).
    waiting: bool
    state: CallState
    started_at: datetime
    #: The call room, once accepted.
    room_id: str | None = None
    #: ``/join/<invite token>?call=<id>``, once accepted.
    join_url: str | None = None

    @classmethod
    def start(
        cls,
        caller_id: str,
        caller_name: str,
        callee_id: str,
        callee_name: str,
        *,
        waiting: bool,
        now: datetime,
    ) -> Call:
        if caller_id == callee_id:
            raise DomainError("call.invalid", "you cannot call yourself")
        return cls(
            id=new_call_id(),
            caller_id=caller_id,
            caller_name=caller_name,
            callee_id=callee_id,
            callee_name=callee_name,
            waiting=waiting,
            state=CallState.RINGING,
            started_at=now,
        )

    @property
    def ringing(self) -> bool:
        return self.state is CallState.RINGING

    @property
    def over(self) -> bool:
        return self.state in FINAL

    def party(self, account_id: str) -> bool:
        return account_id in (self.caller_id, self.callee_id)

    def other(self, account_id: str) -> str:
        return self.callee_id if account_id == self.caller_id else self.caller_id

    def _from_ringing(self, state: CallState) -> Call:
        if not self.ringing:
            raise DomainError("call.over", "this call is no longer ringing", state=self.state.value)
        return replace(self, state=state)

    def accept(self, room_id: str, join_url: str) -> Call:
        return replace(self._from_ringing(CallState.ACCEPTED), room_id=room_id, join_url=join_url)

    def decline(self) -> Call:
        return self._from_ringing(CallState.BUSY if self.waiting else CallState.DECLINED)

    def cancel(self) -> Call:
        return self._from_ringing(CallState.CANCELLED)

    def ring_out(self) -> Call:
        """Nobody answered within the ring timeout."""
        return self._from_ringing(CallState.BUSY if self.waiting else CallState.NO_ANSWER)

    def end(self) -> Call:
        """The call room's conference is over (either side hung up)."""
        if self.state is not CallState.ACCEPTED:
            raise DomainError("call.over", "this call is not running", state=self.state.value)
        return replace(self, state=CallState.ENDED)
