"""The people socket, ``GET /ws/v1/people`` (docs/SIGNALING.md, "People"): presence and
1:1 calls for every open page of a signed-in account (F-WB3, F-WB4).

Same envelope and rules as the meeting socket: every message is a JSON object with
``"v": 1`` and a ``"type"``, validated by the schema below (extra fields forbidden, at
most ``MAX_MESSAGE`` bytes) before anything acts on it; a bad one is answered with an
``error`` from the one registry (domain/errors.py) and changes nothing. The state is
the server's (app/people.py); this module only translates. Pushes go to a bounded
queue per socket that one writer task empties, so the people service never waits for a
slow page; a page that falls ``MAX_OUTBOX`` messages behind is cut off.

Issue 14: one account holds at most ``MAX_PAGES`` people sockets at a time (each is
memory, a task and a presence page); one more is told ``socket.too_many`` and closed
with ``TOO_MANY``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import Counter
from typing import Annotated, Literal

from fastapi import APIRouter, WebSocket
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from confero.app.envelope import VERSION, BadMessage, Envelope, error, message
from confero.app.people import PeopleService, call_view
from confero.app.people_pages import Message, Page
from confero.domain.accounts import Account
from confero.domain.calls import MAX_CALL_ID
from confero.domain.errors import DomainError
from confero.web.deps import SESSION_COOKIE
from confero.web.ws import FOREIGN_ORIGIN, refuse, same_origin

log = logging.getLogger(__name__)
router = APIRouter()

MAX_MESSAGE = 8 * 1024
#: Pushes waiting for a slow socket before it is cut off (it would only fall behind).
MAX_OUTBOX = 200
#: Close codes: not signed in (or signed out), no ping within the timeout, too slow.
NOT_SIGNED_IN = 4401
PING_TIMEOUT = 4408
TOO_SLOW = 1013
GOING_AWAY = 1001
#: Over ``MAX_PAGES`` people sockets of one account (issue 14).
TOO_MANY = 4429
MAX_PAGES = 20
CLOSE_CODES = {"signed_out": NOT_SIGNED_IN, "timeout": PING_TIMEOUT, "shutdown": GOING_AWAY}

Ref = Annotated[str | None, Field(default=None, max_length=40)]
Id = Annotated[str, Field(min_length=1, max_length=MAX_CALL_ID)]


# ------------------------------------------------------------------ the schema
class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1]
    ref: Ref = None


class Ping(_Message):
    type: Literal["ping"]


class CallStart(_Message):
    type: Literal["call"]
    account_id: Id


class CallCancel(_Message):
    type: Literal["call_cancel"]
    call_id: Id


class CallAccept(_Message):
    type: Literal["call_accept"]
    call_id: Id


class CallDecline(_Message):
    type: Literal["call_decline"]
    call_id: Id


class Gather(_Message):
    type: Literal["gather"]
    room_id: Id


class MissedDismiss(_Message):
    type: Literal["missed_dismiss"]
    #: A missed call's id, or ``"all"``.
    id: Id


_KINDS = (Ping, CallStart, CallCancel, CallAccept, CallDecline, Gather, MissedDismiss)
ClientMessage = Annotated[
    Ping | CallStart | CallCancel | CallAccept | CallDecline | Gather | MissedDismiss,
    Field(discriminator="type"),
]
_adapter: TypeAdapter[ClientMessage] = TypeAdapter(ClientMessage)
_envelope: Envelope[ClientMessage] = Envelope(_adapter, _KINDS, MAX_MESSAGE)
TYPES = _envelope.types
parse = _envelope.parse


# ------------------------------------------------------------------ the socket
class PeopleConnection:
    """One people socket: its page's pushes queued, one writer task sending them."""

    def __init__(self, websocket: WebSocket) -> None:
        self.websocket = websocket
        self.outbox: asyncio.Queue[Message | None] = asyncio.Queue(MAX_OUTBOX)
        self.close_code = 1000
        self.closing = False

    def push(self, msg: Message) -> None:
        """The page's ``send``: never blocks (app/people.py)."""
        if self.closing:
            return
        try:
            self.outbox.put_nowait({"v": VERSION, **msg})
        except asyncio.QueueFull:
            self.close(TOO_SLOW)

    def closed_by_server(self, reason: str) -> None:
        """The people service dropped the page (sign-out, no ping, shutdown)."""
        self.close(CLOSE_CODES.get(reason, 1000))

    def close(self, code: int) -> None:
        """Close after what is queued (all of it dropped for a page too slow to read)."""
        if self.closing:
            return
        self.closing, self.close_code = True, code
        if code == TOO_SLOW:
            while not self.outbox.empty():
                self.outbox.get_nowait()
        with contextlib.suppress(asyncio.QueueFull):
            self.outbox.put_nowait(None)

    async def write(self) -> None:
        with contextlib.suppress(Exception):
            while True:
                msg = await self.outbox.get()
                if msg is None:
                    await self.websocket.close(self.close_code)
                    return
                await self.websocket.send_text(json.dumps(msg))


@router.websocket("/ws/v1/people")
async def people_socket(websocket: WebSocket) -> None:
    if not same_origin(websocket):
        await refuse(websocket, FOREIGN_ORIGIN)
        return
    services = websocket.app.state.services
    token = websocket.cookies.get(SESSION_COOKIE)
    account = await services.accounts.resolve_token(token) if token else None
    if token is None or account is None:  # guests see no presence and call nobody
        await refuse(websocket, NOT_SIGNED_IN)
        return
    await websocket.accept()
    opened = _open_pages(websocket)
    if opened[account.id] >= MAX_PAGES:
        too_many = error("socket.too_many", "too many open pages of this account")
        with contextlib.suppress(Exception):
            await websocket.send_text(json.dumps({"v": VERSION, **too_many}))
            await websocket.close(TOO_MANY)
        return
    opened[account.id] += 1
    people: PeopleService = services.people
    conn = PeopleConnection(websocket)
    writer = asyncio.create_task(conn.write(), name="people-writer")
    page: Page | None = None
    try:
        page = await people.open_page(account, token, conn.push, conn.closed_by_server)
        while not conn.closing:
            try:
                text = await websocket.receive_text()
            except Exception:  # disconnect, or a binary frame we do not speak
                break
            await _receive(people, page, conn, text)
    finally:
        if page is not None:
            with contextlib.suppress(Exception):  # logged by the store's caller at worst
                await people.close_page(page)
        conn.close(conn.close_code if page is not None else 1011)
        opened[account.id] -= 1
        if opened[account.id] <= 0:
            del opened[account.id]
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(writer, 2)


def _open_pages(websocket: WebSocket) -> Counter[str]:
    """The app's count of open people sockets per account."""
    state = websocket.app.state
    if not hasattr(state, "people_pages"):
        state.people_pages = Counter()
    pages: Counter[str] = state.people_pages
    return pages


async def _receive(people: PeopleService, page: Page, conn: PeopleConnection, text: str) -> None:
    try:
        msg = parse(text)
    except BadMessage as exc:
        conn.push(error(exc.code, exc.detail, exc.ref))
        return
    try:
        reply = await _handle(people, page, page.account, msg)
    except DomainError as exc:
        conn.push(error(exc.code, exc.detail, msg.ref, **exc.context))
        return
    except Exception:  # a bug of ours: say so, keep the socket
        log.exception("people message %s failed", msg.type)
        conn.push(error("server.error", "the server could not do this", msg.ref))
        return
    if reply is not None:
        conn.push(reply)


async def _handle(
    people: PeopleService, page: Page, account: Account, msg: ClientMessage
) -> Message | None:
    """The answer to the sender (``ref`` copied); the other pages get pushes."""
    ref = msg.ref
    match msg:
        case Ping():
            await people.ping(page)
            return message("pong", ref)
        case CallStart(account_id=callee_id):
            call = await people.call(account, callee_id, origin=page)
        case CallCancel(call_id=call_id):
            call = await people.cancel(account, call_id, origin=page)
        case CallAccept(call_id=call_id):
            call = await people.accept(account, call_id, origin=page)
        case CallDecline(call_id=call_id):
            call = await people.decline(account, call_id, origin=page)
        case Gather(room_id=room_id):
            online, offline = await people.gather(account, room_id)
            return message("gathered", ref, online=online, offline=offline)
        case MissedDismiss(id=missed_id):
            await people.dismiss_missed(account, None if missed_id == "all" else missed_id)
            return message("result", ref, ok=True)
    return message("call_state", ref, call=call_view(call))
