"""The browser gateway: one WebSocket per browser, conference events to the pages they
concern, browser media in and out of the room (docs/SIGNALING.md).

Like the phone bridge it only turns what a browser says into the same commands the
keypad and REST use, and follows the conference's events; the actor decides. The event
handler is a fast bus subscriber (confero/bus/local.py): it only queues messages and
spawns media work.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
from collections import Counter
from collections.abc import Callable, Coroutine, Iterator, Mapping, Sequence
from typing import Any, ClassVar

from aiortc import RTCPeerConnection

from confero.app import session as ps
from confero.app.boards import BoardService
from confero.app.conferences import ConferenceService
from confero.app.ports import EventBus
from confero.app.rooms import RoomService
from confero.app.tasks import Background
from confero.app.wire import event_to_wire
from confero.domain import events as ev
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.media.engine import MediaEngine
from confero.media.mixer import gain_for_level
from confero.media.sfu import Sfu
from confero.observe import logs
from confero.webrtc import signaling as s
from confero.webrtc.audio import BrowserAudioLeg
from confero.webrtc.board_messages import BOARD_MESSAGES, BoardMessage, BoardMessages
from confero.webrtc.reception import EVERY as RECEPTION_EVERY
from confero.webrtc.reception import Observe, ReceptionSampler
from confero.webrtc.session import BrowserMedia, SignalingError
from confero.webrtc.streams import Streams
from confero.webrtc.visitor import (
    Connection,
    Participant,
    Visitor,
    addressed,
    without_accounts,
)

log = logging.getLogger(__name__)
TALKING_INTERVAL = 0.25
CHAT_PAGE = 50
#: News for every page of the room, joined or not: the prejoin page shows whether a
#: meeting runs (docs/SIGNALING.md, Joining). The conference addresses them to its
#: participants only.
ROOM_WIDE = (ev.ConferenceStarted, ev.ConferenceEnded)
#: A room's content (issue 12): only for sockets that may see it (``Visitor.reads_content``).
CONTENT = (ev.BoardChanged, ev.BoardsListed, ev.FileShared, ev.FileDeleted, ev.RecordingSaved)
#: Close code of a socket whose room was deleted or whose account was removed from it
#: (web/ws.py's ROOM_NOT_FOUND; the web layer is not imported here).
ROOM_GONE = 4404
#: Close code of a socket over the caps (HTTP's 429 in the application's range).
TOO_MANY = 4429
#: Room page sockets at most from one address and on one room (Settings ws_max_*).
MAX_PER_ADDRESS = 50
MAX_PER_ROOM = 300


class BrowserGateway:
    def __init__(
        self,
        engine: MediaEngine,
        sfu: Sfu,
        rooms: RoomService,
        conferences: ConferenceService,
        bus: EventBus,
        *,
        grace: float = 30.0,
        ice_servers: Sequence[Mapping[str, Any]] = (),
        boards: BoardService | None = None,
        max_per_address: int = MAX_PER_ADDRESS,
        max_per_room: int = MAX_PER_ROOM,
        tokens: ps.ResumeTokens | None = None,
    ) -> None:
        self.engine = engine
        self.sfu = sfu
        self.streams = Streams(sfu, self._entered_in)
        self.rooms = rooms
        self.conferences = conferences
        self.bus = bus
        #: Its pages' participants, a drop waits ``grace``; tokens: Redis in a cluster (#16).
        self.sessions = ps.Sessions[Participant](conferences, grace=grace, tokens=tokens)
        self.ice_servers = ice_servers
        self.board_messages = BoardMessages(boards, conferences, lambda v: v.reads_content)
        self.visitors: dict[str, set[Visitor]] = {}
        self.max_per_address = max_per_address
        self.max_per_room = max_per_room
        self._per_address: Counter[str] = Counter()
        self._talking: dict[str, frozenset[str]] = {}
        self._tasks = Background(log, "browser")
        self._unsubscribe: Callable[[], None] = lambda: None
        self._ticker: asyncio.Task[None] | None = None
        self._reception: ReceptionSampler | None = None

    # ------------------------------------------------------------ lifetime
    def observe_reception(self, observe: Observe, every: float = RECEPTION_EVERY) -> None:
        """Hand each browser's audio loss and jitter to ``observe`` every ``every``
        seconds (the operators' metrics, issue 18: webrtc/reception.py)."""
        self._reception = ReceptionSampler(self.publish_connections, observe, every)

    def publish_connections(self) -> Iterator[tuple[str, RTCPeerConnection]]:
        """The publish connection of every participant of this node's pages that has one."""
        for session in self.sessions.all():
            p = session.link
            if p is not None and p.media is not None and p.media.publish_pc is not None:
                yield p.id, p.media.publish_pc

    def start(self) -> None:
        self._unsubscribe = self.bus.subscribe(self._event)
        self._ticker = asyncio.create_task(self._talking_loop(), name="talking")
        if self._reception is not None:
            self._reception.start()

    async def stop(self) -> None:
        self._unsubscribe()
        if self._ticker is not None:
            self._ticker.cancel()
        if self._reception is not None:
            await self._reception.stop()
        for room_visitors in list(self.visitors.values()):
            for v in list(room_visitors):
                v.closed = True
                with contextlib.suppress(asyncio.QueueFull):
                    v.outbox.put_nowait(None)
        self.sessions.close()
        for session in self.sessions.all():
            if session.link is not None:
                await self._stop_media(session.link)
        await self._tasks.stop(grace=5)

    def _spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        self._tasks.spawn(coro, name)

    # -------------------------------------------------------------- socket
    async def serve(
        self, room: Room, account: Account | None, conn: Connection, address: str | None = None
    ) -> None:
        """Run one socket until it closes; a joined participant then gets a grace period.
        ``address``: the client's, as the web layer sees it behind trusted proxies; else
        the connection's peer (Starlette's ``client``)."""
        if address is None:
            client = getattr(conn, "client", None)
            address = str(client[0]) if client else ""
        v = Visitor(room, account, conn, address=address)
        logs.bind(room_id=room.id)  # this socket's task logs with its room (issue 18)
        if not self._admit(v):
            error = s.error("socket.too_many", "too many open pages for this room")
            with contextlib.suppress(Exception):  # gone already: nothing to tell
                await conn.send_text(json.dumps(error))
                await conn.close(TOO_MANY)
            return
        self.visitors.setdefault(room.id, set()).add(v)
        self._per_address[v.address] += 1
        writer = asyncio.create_task(self._write(v), name="ws-writer")
        try:
            while not v.closed:
                try:
                    text = await conn.receive_text()
                except Exception:  # disconnect, or a binary frame we do not speak
                    break
                await self._receive(v, text)
        finally:
            v.closed = True
            with contextlib.suppress(asyncio.QueueFull):
                v.outbox.put_nowait(None)
            self._per_address[v.address] -= 1
            if self._per_address[v.address] <= 0:
                del self._per_address[v.address]
            room_visitors = self.visitors.get(room.id)
            if room_visitors is not None:
                room_visitors.discard(v)
                if not room_visitors:
                    del self.visitors[room.id]
            p = v.participant
            if p is not None and p.visitor is v:
                await self._dropped(p)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writer

    def _admit(self, v: Visitor) -> bool:
        """Sockets are cheap to open and each holds memory and a task: at most
        ``max_per_address`` from one address and ``max_per_room`` on one room (issue 14),
        the room's members aside.
        One over is told why and closed before anything is read from it."""
        if self._per_address[v.address] >= self.max_per_address:
            return False
        # The room's own people are never shut out by strangers' sockets (issue 14's
        # rerun: 300 idle guest sockets kept the owner's page out): the cap is the guests'.
        return v.sees_accounts or len(self.visitors.get(v.room.id, ())) < self.max_per_room

    async def _write(self, v: Visitor) -> None:
        with contextlib.suppress(Exception):
            while True:
                message = await v.outbox.get()
                if message is None:
                    await v.conn.close(v.close_code)
                    return
                await v.conn.send_text(message if isinstance(message, str) else json.dumps(message))

    async def _receive(self, v: Visitor, text: str) -> None:
        try:
            msg = s.parse(text)
        except s.BadMessage as exc:
            v.push(s.error(exc.code, exc.detail, exc.ref))
            return
        handler = self._handlers.get(type(msg))
        assert handler is not None
        try:
            if not v.room.open_to(v.account.id if v.account else None):
                # A call room's link in a third party's hands: nothing, not even chat.
                raise DomainError("call.not_yours", "this call is between two others")
            await handler(self, v, msg)
        except DomainError as exc:
            v.push(s.error(exc.code, exc.detail, msg.ref, **exc.context))
        except SignalingError as exc:
            v.push(s.error("signaling.media", str(exc), msg.ref))
        except Exception:  # a bug of ours: say so, keep the socket and the conference
            log.exception("browser message %s failed", msg.type)
            v.push(s.error("server.error", "the server could not do this", msg.ref))

    # ------------------------------------------------------------ messages
    async def _hello(self, v: Visitor, msg: s.Hello) -> None:
        v.lang = msg.lang
        room = await self._current_room(v)
        snap = self.conferences.snapshot(room)
        v.push(
            s.message(
                "room",
                room={
                    "id": room.id,
                    "name": room.name,
                    "language": room.language.value,
                    "locked": snap["locked"],
                    "running": snap["running"],
                    "count": len(snap["participants"]),
                },
                account={"display_name": v.account.display_name} if v.account else None,
                chat=await self._chat_page(room, None),
                ref=msg.ref,
            )
        )

    async def _join(self, v: Visitor, msg: s.Join) -> None:
        if v.participant is not None:
            raise DomainError("conference.already_joined", "this page has joined already")
        await self._current_room(v)  # a new conference starts with the room's lock, capacity
        resumed = await self.sessions.resume(msg.resume, v.room.id)
        if resumed is not None and resumed.link is not None:
            await self._rebind(v, resumed.link)
            return
        account = v.account
        role = v.room.role_for_account(account.id) if account is not None else None

        def attach(session: ps.ParticipantSession[Participant]) -> Participant:
            logs.bind(participant_id=session.id)
            v.participant = Participant(session, visitor=v)
            return v.participant

        try:
            await self.sessions.join(
                v.room,
                channel="browser",
                role=role or Role.PARTICIPANT,
                name=msg.name,
                default_name=account.display_name if account else "",
                identity=f"account:{account.id}" if account else None,
                account_id=account.id if account else None,
                resume=msg.resume,
                attach=attach,
            )
        except DomainError:
            v.participant = None
            raise

    async def _offer(self, v: Visitor, msg: s.Offer) -> None:
        p = self._entered(v)
        assert p.media is not None
        answer = await p.media.accept_offer(msg.sdp)
        v.push(s.message("answer", sdp=answer, ref=msg.ref))
        await self.streams.watch_room(p)

    async def _subscribe_answer(self, v: Visitor, msg: s.SubscribeAnswer) -> None:
        p = self._entered(v)
        assert p.media is not None
        await p.media.watch_answer(msg.stream_id, msg.sdp)

    async def _media(self, v: Visitor, msg: s.Media) -> None:
        p = self._entered(v)
        for slot, wanted in (("camera", msg.camera), ("screen", msg.screen)):
            if wanted and slot not in p.publishing:
                await self.streams.publish(p, slot)
            elif not wanted and slot in p.publishing:
                await self.streams.unpublish(p, slot)
        if msg.ref:
            v.push(s.message("result", ref=msg.ref, ok=True))

    async def _command(self, v: Visitor, msg: s.Command) -> None:
        if msg.command == "leave":
            await self._leave(v, s.Leave(v=1, type="leave", ref=msg.ref))
            return
        p = v.participant
        if p is None or not p.entered:
            raise DomainError("conference.not_joined", "join the conference first")
        await p.session.command(msg.command, **msg.arguments)
        v.push(s.message("result", ref=msg.ref, ok=True))

    async def _leave(self, v: Visitor, msg: s.Leave) -> None:
        p = v.participant
        if p is None:
            raise DomainError("conference.not_joined", "join the conference first")
        await p.session.leave()  # nothing if already gone (ended, removed)
        await self._part(p)
        # The token stays: with it one rejoins as the same participant, as after a drop.
        v.push(s.message("left", ref=msg.ref))

    async def _chat(self, v: Visitor, msg: s.Chat) -> None:
        if v.participant is not None:
            name = v.participant.name
        elif v.account is not None:
            name = v.account.display_name
        else:
            name = " ".join((msg.name or "").split())
        if not name:
            raise DomainError("auth.name_required", "tell the others your name first")
        v.check_chat_rate(asyncio.get_running_loop().time())
        # An account without a role in the room chats as a guest of it (issue 14).
        account_id = v.account.id if v.account is not None and v.sees_accounts else None
        posted = await self.rooms.post_chat(
            v.room, name, msg.text, account_id, sender=self._sender(v)
        )
        v.push(s.message("result", ref=msg.ref, ok=True, id=posted.id))

    @staticmethod
    def _sender(v: Visitor) -> str:
        """Who posts, for the chat limits: the same on every socket and over REST (an
        account), for one participant (a joined guest), else the guest's address."""
        if v.account is not None:
            return f"account:{v.account.id}"
        if v.participant is not None:
            return f"participant:{v.participant.id}"
        return f"address:{v.address}"

    async def _chat_history(self, v: Visitor, msg: s.ChatHistory) -> None:
        v.push(s.message("chat_page", ref=msg.ref, **await self._chat_page(v.room, msg.before)))

    async def _board(self, v: Visitor, msg: BoardMessage) -> None:
        await self.board_messages.handle(v, msg)

    async def _ping(self, v: Visitor, msg: s.Ping) -> None:
        v.push(s.message("pong", ref=msg.ref))

    _handlers: ClassVar[dict[type, Callable[..., Coroutine[Any, Any, None]]]] = {
        s.Hello: _hello,
        s.Join: _join,
        s.Offer: _offer,
        s.SubscribeAnswer: _subscribe_answer,
        s.Media: _media,
        s.Command: _command,
        s.Chat: _chat,
        s.ChatHistory: _chat_history,
        s.Leave: _leave,
        s.Ping: _ping,
        **dict.fromkeys(BOARD_MESSAGES, _board),
    }

    # --------------------------------------------------------------- helpers
    async def _current_room(self, v: Visitor) -> Room:
        """The room as stored now: the page may have been open since before a lock (F-EN2)
        or an edit of the room."""
        room = await self.rooms.get_by_id(v.room.id)
        if room is None:
            raise DomainError("room.not_found", "this room no longer exists")
        v.room = room
        return room

    @staticmethod
    def _entered(v: Visitor) -> Participant:
        p = v.participant
        if p is None or not p.entered:
            raise DomainError("conference.not_joined", "join the conference first")
        return p

    async def _chat_page(self, room: Room, before: int | None) -> dict[str, Any]:
        found = await self.rooms.list_chat(room.id, before, CHAT_PAGE + 1)
        messages = [
            {
                "id": m.id,
                "author_name": m.author_name,
                "guest": m.account_id is None,
                "text": m.text,
                "created_at": m.created_at.isoformat(),
            }
            for m in found[:CHAT_PAGE]
        ]
        next_before = messages[-1]["id"] if len(found) > CHAT_PAGE else None
        return {"messages": messages, "next_before": next_before}

    def participant_by_token(self, room_id: str, token: str) -> tuple[str, str, bool] | None:
        """Who holds this resume token in the room's running conference (id, display
        name, is moderator), for the web layer's content access (issue 12); a knocker,
        a participant who left or a token of another room: None."""
        for session in self.sessions.in_room(room_id):
            if not session.token or not hmac.compare_digest(session.token, token):
                continue
            live = self.conferences.participant(room_id, session.id)
            if live is None:
                return None
            return session.id, live.display_name, live.role is Role.MODERATOR
        return None

    def close_strangers(self, room_id: str) -> list[str]:
        """Close the sockets of guests who are not in the meeting (issue 14's rerun):
        they came through an invite link that has just been replaced, and would
        otherwise keep their place, their pre-join chat and their knock for ever.
        Returns the lobby ids of those who were knocking (the caller denies them).
        Joined guests stay in the meeting; a moderator removes them."""
        closing = [
            v
            for v in self.visitors.get(room_id, set())
            if not v.sees_accounts
            and (
                v.participant is None
                or self.conferences.participant(room_id, v.participant.id) is None
            )
        ]
        for v in closing:
            self._shut(v)
        return [v.participant.id for v in closing if v.participant is not None]

    def close_sockets(self, room_id: str, account_id: str | None = None) -> int:
        """Close the room's sockets, or one account's among them (issue 14): a deleted
        room or a removed member keeps no open socket (and so no chat, no events)."""
        closing = [
            v
            for v in self.visitors.get(room_id, set())
            if account_id is None or (v.account is not None and v.account.id == account_id)
        ]
        for v in closing:
            self._shut(v)
        return len(closing)

    @staticmethod
    def _shut(v: Visitor) -> None:
        v.push(s.error("room.not_found", "this room is no longer open to you"))
        v.close_code = ROOM_GONE
        v.closed = True
        with contextlib.suppress(asyncio.QueueFull):
            v.outbox.put_nowait(None)

    def _welcome(self, p: Participant) -> dict[str, Any]:
        live = self.conferences.participant(p.room.id, p.id)
        role = live.role.value if live is not None else Role.PARTICIPANT.value
        state = self.conferences.snapshot(p.room)
        if role != Role.MODERATOR.value:
            state = {**state, "lobby": []}
        resume = p.session.token
        return s.message("welcome", participant_id=p.id, role=role, resume=resume, state=state)

    def _enter(self, p: Participant) -> None:
        """Admitted to the room: a mixer leg and media, then the welcome."""
        if p.entered:
            return
        p.entered = True
        self._start_media(p)
        if p.visitor is not None:
            p.visitor.push(self._welcome(p))

    def _start_media(self, p: Participant) -> None:
        leg = BrowserAudioLeg(p.id)
        p.media = BrowserMedia(p.id, leg, self.ice_servers)
        p.mix = self.engine.add_leg(p.room.id, leg, owner=p.id)
        self._sync(p)

    @staticmethod
    def _sync(p: Participant) -> None:
        """Own mute and volume, as the session followed them from the conference."""
        if p.mix is not None:
            p.mix.muted = p.session.muted
            p.mix.gain = gain_for_level(p.session.volume)

    async def _stop_media(self, p: Participant) -> None:
        await self.streams.unpublish_all(p)
        media, p.media, p.mix = p.media, None, None
        self.engine.remove_leg(p.room.id, p.id)
        if media is not None:
            await media.close()

    async def _rebind(self, v: Visitor, p: Participant) -> None:
        """The same participant on a new socket (reload, network back): F-EN7."""
        old = p.visitor
        if old is not None and old is not v:
            old.participant = None
            old.push(s.message("left", reason="replaced"))
        await self._stop_media(p)
        logs.bind(participant_id=p.id)
        p.visitor = v
        v.participant = p
        p.entered = False
        self._enter(p)

    async def _dropped(self, p: Participant) -> None:
        p.visitor = None
        await self._stop_media(p)
        self.sessions.drop(p.session)  # back within the grace by its token, or it leaves

    async def _part(self, p: Participant) -> None:
        """No longer in the conference (left, removed, ended): media stops now."""
        p.entered = False
        if p.visitor is not None and p.visitor.participant is p:
            p.visitor.participant = None
        await self._stop_media(p)
        self._forget(p)

    def _forget(self, p: Participant) -> None:
        self.sessions.forget(p.id)
        if p.visitor is not None and p.visitor.participant is p:
            p.visitor.participant = None

    def _entered_in(self, room_id: str) -> list[Participant]:
        found = (s.link for s in self.sessions.in_room(room_id))
        return [p for p in found if p is not None and p.entered]

    # --------------------------------------------------------------- events
    def _event(self, event: ev.Event) -> None:
        """A fast bus subscriber, called as the actor emits: only queue and spawn."""
        room_visitors = self.visitors.get(event.room_id, set())
        if room_visitors:
            # Serialized once for the room's members and once for its guests, not once
            # per socket: the actor is still in ``emit`` while this loop runs, and the
            # sockets' writers only send the text (issue 17: 1,000 sockets of a room).
            message = {"v": s.VERSION, "type": "event", **event_to_wire(event, s.VERSION)}
            texts: dict[bool, str] = {}
            everyone = not event.audience or isinstance(event, ROOM_WIDE)
            content = isinstance(event, CONTENT)
            for v in room_visitors if everyone else addressed(event, room_visitors, self.sessions):
                if not everyone and v.participant_id not in event.audience:
                    continue
                if not v.room.open_to(v.account.id if v.account else None):
                    continue
                if content and not v.reads_content:
                    continue
                sees = v.sees_accounts
                text = texts.get(sees)
                if text is None:
                    text = texts[sees] = json.dumps(message if sees else without_accounts(message))
                v.push_text(text)
        for session in self.sessions.following(event):
            p = session.link
            for instruction in session.follow(event):
                if p is not None:
                    self._follow(p, instruction)
        self.sessions.observe(event)

    def _follow(self, p: Participant, instruction: ps.Instruction) -> None:
        """The browser's translation of what its participant must follow."""
        match instruction:
            case ps.Entered():
                self._enter(p)
            case ps.Knocking() if p.visitor is not None:
                p.visitor.push(s.message("lobby", lobby_id=p.id))
            case ps.Denied(reason=reason):
                if reason == "denied" and p.visitor is not None:
                    p.visitor.push(s.message("denied", reason=reason))
                self._forget(p)
            case ps.Removed() | ps.Ended():
                self._spawn(self._part(p), f"part-{p.id}")
            case ps.MuteChanged() | ps.VolumeChanged():
                self._sync(p)

    async def _talking_loop(self) -> None:
        while True:
            await asyncio.sleep(TALKING_INTERVAL)
            for room_id, room_visitors in list(self.visitors.items()):
                now = self.engine.talking(room_id)
                if now == self._talking.get(room_id, frozenset()):
                    continue
                self._talking[room_id] = now
                message = s.message("talking", ids=sorted(now))
                for v in room_visitors:
                    if v.participant is not None and v.participant.entered:
                        v.push(message)
            for room_id in set(self._talking) - set(self.visitors):
                del self._talking[room_id]
