"""The browser's WebSocket (docs/SIGNALING.md): the web layer authenticates and hands the
socket to the signaling adapter the composition root installed (``app.state.signaling``),
so ``web`` does not import ``webrtc`` (house rule 1).

In a cluster (issue 16, F-SC2) a socket for a room another node runs is pumped to that
node (web/forward.py); one whose join finds the room claimed elsewhere meanwhile is
closed with ``MOVED``, and the page, reconnecting at once, comes back through that pump.
"""

from __future__ import annotations

import json
from typing import Protocol, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Request, WebSocket

from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.rooms import Room
from confero.web.deps import SESSION_COOKIE, client_source
from confero.web.forward import forwarder_of

router = APIRouter()

#: WebSocket close codes of ours (4000-4999 are the application's).
ROOM_NOT_FOUND = 4404
FOREIGN_ORIGIN = 4403
UNAVAILABLE = 4503
#: Sent by the signaling adapter (issue 14): over the sockets' caps per address or room.
TOO_MANY = 4429
#: The room runs on another node (HTTP's 421 Misdirected Request, issue 16): the page
#: reconnects at once, and this node forwards the new socket there (web/forward.py).
MOVED = 4421


class Socket(Protocol):
    async def send_text(self, text: str) -> None: ...
    async def receive_text(self) -> str: ...
    async def close(self, code: int = 1000) -> None: ...


class Signaling(Protocol):
    async def serve(
        self, room: Room, account: Account | None, conn: Socket, address: str | None = None
    ) -> None:
        """Run one socket; ``address`` is the client's (its caps and chat limit)."""
        ...

    def participant_by_token(self, room_id: str, token: str) -> tuple[str, str, bool] | None:
        """The participant of the room's running conference this resume token belongs to:
        (participant id, display name, is moderator); None for anyone else (issue 12,
        web/content_access.py)."""
        ...

    def close_strangers(self, room_id: str) -> list[str]:
        """Close the sockets of guests who are not in the meeting: the invite link they
        came through was replaced (issue 14). Returns the lobby ids of the knockers."""
        ...

    def close_sockets(self, room_id: str, account_id: str | None = None) -> int:
        """Close the room's sockets (those of ``account_id`` only, if given) with
        ``ROOM_NOT_FOUND``: the room was deleted or the account removed from it (issue
        14). Returns how many."""
        ...


def same_origin(websocket: WebSocket) -> bool:
    """Browsers send cookies on cross-site WebSockets too: refuse other sites' pages."""
    origin = websocket.headers.get("origin")
    if origin is None:  # not a browser (scripts, tests): nothing to hijack
        return True
    return urlsplit(origin).netloc == websocket.headers.get("host", "")


async def refuse(websocket: WebSocket, code: int) -> None:
    """Close with one of our codes. Closed before ``accept`` the handshake fails with an
    HTTP 403 and a page only sees 1006, so accept first; nothing is read from the socket."""
    await websocket.accept()
    await websocket.close(code)


@router.websocket("/ws/v1/join/{invite_token}")
async def join_socket(websocket: WebSocket, invite_token: str) -> None:
    services = websocket.app.state.services
    signaling: Signaling | None = getattr(websocket.app.state, "signaling", None)
    if not same_origin(websocket):
        await refuse(websocket, FOREIGN_ORIGIN)
        return
    if signaling is None:
        await refuse(websocket, UNAVAILABLE)
        return
    room = await services.rooms.by_invite_token(invite_token[:64])
    if room is None:
        await refuse(websocket, ROOM_NOT_FOUND)
        return
    if await forwarded(websocket, room.id):
        return
    token = websocket.cookies.get(SESSION_COOKIE)
    account = await services.accounts.resolve_token(token) if token else None
    await websocket.accept()
    # The client's address behind trusted proxies (a socket's scope is a request's).
    address = client_source(cast(Request, websocket))
    await signaling.serve(room, account, MovedOn(websocket), address)


async def forwarded(websocket: WebSocket, room_id: str) -> bool:
    """True when the socket was for another node (issue 16): pumped there until it
    closed, or refused with ``UNAVAILABLE`` when that node cannot be reached."""
    forwarder = forwarder_of(websocket)
    if forwarder is None:
        return False
    try:
        owner = await forwarder.owner_elsewhere(websocket, room_id)
        if owner is None:
            return False
        await forwarder.socket(websocket, owner.internal_url, gone=UNAVAILABLE)
    except DomainError:  # the placement or the owner cannot be reached: the page retries
        await refuse(websocket, UNAVAILABLE)
    return True


class MovedOn:
    """The socket as the signaling adapter sees it, except that a join refused with
    ``conference.elsewhere`` (another node claimed the room after this node looked)
    closes it with ``MOVED`` instead: the page never sees that error (nor the node it
    names) and reconnects through the forwarding path."""

    def __init__(self, websocket: WebSocket) -> None:
        self._socket = websocket
        self._moved = False

    async def send_text(self, text: str) -> None:
        if self._moved:
            return
        if "conference.elsewhere" in text and _elsewhere(text):
            self._moved = True
            await self._socket.close(MOVED)
            return
        await self._socket.send_text(text)

    async def receive_text(self) -> str:
        return await self._socket.receive_text()

    async def close(self, code: int = 1000) -> None:
        if not self._moved:
            await self._socket.close(code)


def _elsewhere(text: str) -> bool:
    message = json.loads(text)
    return (
        isinstance(message, dict)
        and message.get("type") == "error"
        and message.get("code") == "conference.elsewhere"
    )
