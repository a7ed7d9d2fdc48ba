"""Who may see and change a room's content: boards, files, recordings (issue 12).

A **reader** of a room is a signed-in account with a role in it (owner or member), or a
participant who has joined the room's running conference (any channel; a guest counts
while in the meeting). Nobody else: a guest after the meeting, a third account holding
the invite link. Moderators are the owner, moderator members, and participants whose
conference role is moderator.

A participant proves itself with its resume token (the meeting socket's ``welcome``
gives it to the page), in the ``X-Confero-Participant`` header or, for a download link,
the ``participant`` query parameter. The web layer asks the signaling adapter
(``Signaling.participant_by_token``) whether that token is in the room's conference now.

Failures do not tell a stranger whether the room exists: with no credentials at all the
answer is ``auth.required``; with credentials that open nothing it is ``room.not_found``.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from confero.app.services import Services
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.web.deps import request_token

PARTICIPANT_HEADER = "x-confero-participant"
PARTICIPANT_QUERY = "participant"
#: Tokens are ``secrets.token_urlsafe(24)`` (32 characters); anything longer is not one.
MAX_TOKEN = 128


@dataclass(frozen=True)
class Reader:
    account_id: str | None
    participant_id: str | None
    name: str
    moderator: bool

    @property
    def uploader_key(self) -> str:
        """Who made a thing, as stored with it: the account, else the participant."""
        if self.account_id is not None:
            return self.account_id
        return f"participant:{self.participant_id}"


def participant_token(request: Request) -> str | None:
    token = request.headers.get(PARTICIPANT_HEADER) or request.query_params.get(PARTICIPANT_QUERY)
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN:
        return None
    return token


async def reader(request: Request, svc: Services, room_id: str) -> Reader:
    """The reader of ``room_id`` this request speaks for; raises ``auth.required`` or
    ``room.not_found`` (the same answer for a room that does not exist)."""
    token = request_token(request)
    account = await svc.accounts.resolve_token(token) if token else None
    ptoken = participant_token(request)
    if account is None and ptoken is None:
        raise DomainError("auth.required", "sign in or join the meeting first")
    room = await svc.rooms.get_by_id(room_id[:64])
    if room is None:
        raise DomainError("room.not_found", "no such room")
    if account is not None:
        role = room.role_for_account(account.id)
        if role is not None:
            return Reader(account.id, None, account.display_name, role is Role.MODERATOR)
    if ptoken is not None and room.open_to(account.id if account else None):
        signaling = getattr(request.app.state, "signaling", None)
        found = signaling.participant_by_token(room.id, ptoken) if signaling else None
        if found is not None:
            pid, name, moderator = found
            return Reader(account.id if account else None, pid, name, moderator)
    raise DomainError("room.not_found", "no such room")
