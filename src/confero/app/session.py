"""One participant session for every channel (issue 10, Deliver 1; house rule 1).

Phone, browser and REST used to join in three ways with three name rules, and the phone
and the browser each worked out from the conference which of its events concerned
their own participant. Here it is written once:

- ``ParticipantSession.start`` then ``join``: the identity, the display name (one rule,
  ``display_name``), the role asked for, and whether the join knocked (F-EN2);
- ``Sessions``, a channel's map of participant id -> session on this node: leave, drop
  and the resume grace (a dropped participant stays ``grace`` seconds and comes back by
  its token; after that, the token rejoins with the same identity, so the conference
  gives the same role back: F-EN7);
- ``ParticipantSession.follow``: what one participant must do about an event, computed
  from the event's payload alone (``Entered``, ``MuteChanged``, ``VolumeChanged``,
  ``Knocking``, ``Denied``, ``Removed``, ``Ended``); the channel only translates these
  into prompts and mixer settings (phone) or socket messages and tracks (browser);
- ``ParticipantSession.command``: a command by name through the one contract
  (``build_command``) with ``by`` = the participant. No channel checks a role: the
  conference does, and the error registry (domain/errors.py) says what to tell.

A new channel (a SIP video phone, a bot) needs only a translator of these instructions.

Coming back into a locked room (issue 16): a conference remembers whom it let in, but
only in its actor; when its owner node dies it forms again on another node with the
stored lock, and everyone's automatic rejoin would knock. So a token's record also says
whether its participant was let in (``TokenRecord.admitted``: entered at its join, or
admitted from the lobby later; written by the server as the conference says so, never
by a client), and a rejoin whose record says so joins with ``Join.returning``: in
without knocking, with the record's role. The proof is the token (a bearer secret the
client holds; unknown, forged or another room's: a new participant, who knocks); a
client cannot claim ``returning`` itself, no body reaches a ``Join``. A kick, or the
meeting's end, drops the record: back only by knocking (F-EN2). A phone call relayed
between nodes proves it the same way: the relaying node picks its token and sends it in
the signed admit token (phone/admit_token.py), the owner keeps the record under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from confero.app.actor import MOVED
from confero.app.conferences import ConferenceService, build_command
from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.errors import DomainError
from confero.domain.participant import MAX_DISPLAY_NAME
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.domain.snapshots import LobbySnapshot, ParticipantSnapshot

T = TypeVar("T")
log = logging.getLogger(__name__)


def display_name(given: str | None, default: str = "") -> str:
    """The one name rule for every channel: whitespace collapsed, the channel's default
    (an account's name, "Phone 0612...") when none is given, cut to ``MAX_DISPLAY_NAME``."""
    name = " ".join((given or "").split()) or " ".join(default.split())
    if not name:
        raise DomainError("auth.name_required", "tell the others your name first")
    return name[:MAX_DISPLAY_NAME]


# ---------------------------------------------------------------- instructions
@dataclass(frozen=True)
class Entered:
    """In the room (at once, or admitted from the lobby): hear it, be heard as set."""

    muted: bool
    volume: int


@dataclass(frozen=True)
class Knocking:
    """Waiting in the lobby of a locked room."""


@dataclass(frozen=True)
class MuteChanged:
    muted: bool
    #: Muted or unmuted by oneself (or by the conference's own rule), not a moderator.
    by_self: bool


@dataclass(frozen=True)
class VolumeChanged:
    level: int
    at_limit: bool


@dataclass(frozen=True)
class Denied:
    """The lobby wait is over without admission: denied | full | left."""

    reason: str


@dataclass(frozen=True)
class Removed:
    """Out of the conference: left | dropped | kicked | ended_by_host | removed_by_host |
    replaced."""

    reason: str


@dataclass(frozen=True)
class Ended:
    """The conference is over: empty | ended_by_host | reset | window_closed | call_ended
    (the other side of a 1:1 call hung up, F-WB3)."""

    reason: str


Instruction = Entered | Knocking | MuteChanged | VolumeChanged | Denied | Removed | Ended
#: Instructions after which the session is over (``Sessions.observe`` forgets it).
FINAL = (Denied, Removed, Ended)


# ---------------------------------------------------------------- the session
class ParticipantSession(Generic[T]):
    """One participant of one conference, whatever the channel. ``link`` is the channel's
    own object for it (a browser page's media, a phone call)."""

    def __init__(
        self,
        conferences: ConferenceService,
        room: Room,
        *,
        name: str,
        role: Role,
        channel: str,
        identity: str,
        token: str,
        account_id: str | None,
    ) -> None:
        assert name and len(name) <= MAX_DISPLAY_NAME
        self._conferences = conferences
        self.id = uuid.uuid4().hex
        self.room = room
        self.name = name
        self.role = role
        self.channel = channel
        self.identity = identity
        #: Comes back to this participant (within the grace) or its role (after it).
        self.token = token
        self.account_id = account_id
        self.knocking = False
        self.entered = False
        #: Let in before (its token's record said so): in without knocking (issue 16).
        self.returning = False
        #: The conference let it in (at the join or from the lobby), as ``Sessions``
        #: saw the event: what its token's record says.
        self.admitted = False
        #: Its token's record as last written (``Sessions``).
        self.record: TokenRecord | None = None
        #: Own mute and volume as the conference last said (event payloads).
        self.muted = False
        self.volume = 0
        self.link: T | None = None
        self._grace: asyncio.Task[None] | None = None

    @classmethod
    def start(
        cls,
        conferences: ConferenceService,
        room: Room,
        *,
        channel: str,
        role: Role,
        name: str | None,
        default_name: str = "",
        identity: str | None = None,
        account_id: str | None = None,
        token: str | None = None,
    ) -> ParticipantSession[T]:
        """A session about to join; ``identity`` None: one of its own, from the token."""
        cleaned = display_name(name, default_name)
        token = token or secrets.token_urlsafe(24)
        if identity is None:
            identity = f"{channel}:" + hashlib.sha256(token.encode()).hexdigest()[:32]
        return cls(
            conferences,
            room,
            name=cleaned,
            role=role,
            channel=channel,
            identity=identity,
            token=token,
            account_id=account_id,
        )

    @classmethod
    def existing(
        cls,
        conferences: ConferenceService,
        room: Room,
        found: ParticipantSnapshot | LobbySnapshot,
    ) -> ParticipantSession[T]:
        """A handle on someone already in the conference (or its lobby), for a channel
        that keeps no session between requests (REST): its commands take the same path
        as a page's or a phone's."""
        session: ParticipantSession[T] = cls(
            conferences,
            room,
            name=found.display_name,
            role=found.role,
            channel=found.channel,
            identity=found.identity,
            token="",
            account_id=found.account_id,
        )
        session.id = found.id
        session.knocking = isinstance(found, LobbySnapshot)
        session.entered = not session.knocking
        return session

    async def join(self) -> list[ev.Event]:
        """Join the room's conference (starting one), or knock on a locked one."""
        _, events = await self._conferences.join(
            self.room,
            display_name=self.name,
            role=self.role,
            channel=self.channel,
            identity=self.identity,
            account_id=self.account_id,
            participant_id=self.id,
            returning=self.returning,
        )
        for event in events:  # in or knocking, muted on entry: known before the join returns
            self.follow(event)
        return events

    async def command(self, name: str, **arguments: object) -> list[ev.Event]:
        """A command by its contract name, sent as this participant: the conference checks
        the role (``conference.moderator_only``), not the channel."""
        command = build_command(name, by=self.id, by_role=None, **arguments)
        return await self._conferences.command(self.room, command)

    async def leave(self, reason: str = "left") -> None:
        """Out of the conference (or the lobby); nothing if it is gone already."""
        with contextlib.suppress(DomainError):
            await self._conferences.command(self.room, c.Leave(by=self.id, reason=reason))

    def follow(self, event: ev.Event) -> list[Instruction]:
        """What this participant must do about ``event`` (from its payload alone)."""
        me = self.id
        if event.room_id != self.room.id:
            return []
        match event:
            case ev.ParticipantJoined(participant=view) if view.id == me:
                self.knocking, self.entered = False, True
                self.muted, self.volume = view.muted, view.volume
                return [Entered(view.muted, view.volume)]
            case ev.Knocked(lobby_id=lobby_id) if lobby_id == me:
                self.knocking = True
                return [Knocking()]
            case ev.LobbyLeft(lobby_id=lobby_id, reason=reason) if lobby_id == me:
                self.knocking = False
                return [] if reason == "admitted" else [Denied(reason)]
            case ev.MuteChanged(participant_id=pid, muted=muted, by=by) if pid == me:
                self.muted = muted
                return [MuteChanged(muted, by_self=by in (None, me))]
            case ev.VolumeChanged(participant_id=pid, level=level, at_limit=at_limit) if pid == me:
                self.volume = level
                return [VolumeChanged(level, at_limit)]
            case ev.ParticipantLeft(participant_id=pid, reason=reason) if pid == me:
                self.entered = False
                return [Removed(reason)]
            case ev.ConferenceEnded(reason=reason):
                self.entered = self.knocking = False
                return [Ended(reason)]
        return []


def named(event: ev.Event) -> str | None:
    """The participant (or knocker) ``ParticipantSession.follow`` acts on for ``event``,
    besides the end of a conference, which concerns all of them."""
    match event:
        case ev.ParticipantJoined(participant=view):
            return view.id
        case ev.Knocked(lobby_id=pid) | ev.LobbyLeft(lobby_id=pid):
            return pid
        case (
            ev.MuteChanged(participant_id=pid)
            | ev.VolumeChanged(participant_id=pid)
            | ev.ParticipantLeft(participant_id=pid)
        ):
            return pid
    return None


# ---------------------------------------------------------------- resume tokens
#: How long a token's record lives after its last join (issue 16): a page keeps its token
#: for its tab's life; a day outlasts any meeting, and every rejoin renews it.
TOKEN_TTL = 24 * 3600.0
#: Left by the host: the conference forgets the role (domain/conference.py), so does the token.
_FORGOTTEN = ("kicked", "removed_by_host")


@dataclass(frozen=True)
class TokenRecord:
    """What a resume token keeps once its session is gone: enough to rejoin as the same
    participant (id, identity, name, role), never the session itself (the soak of issue
    14 found every ended phone call, its leg and its SIP call, held here until the
    conference ended: 130 KB a call, and the full collections that walked them stalled
    the media tick). Written by the server at a join, never by the client."""

    participant_id: str
    room_id: str
    identity: str
    name: str
    role: Role
    #: The conference let it in (not only knocked): its rejoin does not knock again.
    admitted: bool = False


class ResumeTokens(Protocol):
    """Where the records live (issue 16, F-SC2 item 3): this process's memory alone, Redis
    in a cluster (bus/redis_tokens.py), so a page whose node died, or whose socket now
    ends on another node, comes back as the same participant there."""

    async def get(self, token: str) -> TokenRecord | None: ...

    async def put(self, token: str, record: TokenRecord, ttl: float) -> None: ...

    async def drop(self, token: str) -> None: ...

    async def drop_room(self, room_id: str) -> None:
        """Every record of the room: its conference ended, it forgot who was in it."""
        ...


class MemoryTokens:
    """The one-process store: records live until their conference ends (``ttl`` unused)."""

    def __init__(self) -> None:
        self._records: dict[str, TokenRecord] = {}

    async def get(self, token: str) -> TokenRecord | None:
        return self._records.get(token)

    async def put(self, token: str, record: TokenRecord, ttl: float) -> None:
        self._records[token] = record

    async def drop(self, token: str) -> None:
        self._records.pop(token, None)

    async def drop_room(self, room_id: str) -> None:
        for token, record in list(self._records.items()):
            if record.room_id == room_id:
                del self._records[token]


# ---------------------------------------------------------------- the map
class Sessions(Generic[T]):
    """A channel's participants on this node: participant id -> session, the resume
    tokens (through ``tokens``: memory, or Redis in a cluster), and the grace of
    dropped participants."""

    def __init__(
        self,
        conferences: ConferenceService,
        *,
        grace: float = 0.0,
        tokens: ResumeTokens | None = None,
        token_ttl: float = TOKEN_TTL,
    ) -> None:
        self._conferences = conferences
        #: How long a dropped participant stays in the conference, waiting to come back.
        self.grace = grace
        self._by_id: dict[str, ParticipantSession[T]] = {}
        #: token -> the last participant that used it (its id, identity, room, name, role).
        self.tokens: ResumeTokens = tokens if tokens is not None else MemoryTokens()
        self.token_ttl = token_ttl
        #: Records being written or dropped (``observe`` cannot wait): a join waits for
        #: them first.
        self._dropping: set[asyncio.Task[None]] = set()

    def get(self, participant_id: str) -> ParticipantSession[T] | None:
        return self._by_id.get(participant_id)

    def all(self) -> list[ParticipantSession[T]]:
        return list(self._by_id.values())

    def in_room(self, room_id: str) -> list[ParticipantSession[T]]:
        return [s for s in self._by_id.values() if s.room.id == room_id]

    def following(self, event: ev.Event) -> list[ParticipantSession[T]]:
        """The sessions ``event`` may give something to follow (``follow``): the one it
        names, or, when a conference ends, every session of its room. Not a walk over
        every session per event: a mute-all in a room of 1,000 is 1,000 events."""
        if isinstance(event, ev.ConferenceEnded):
            return self.in_room(event.room_id)
        session = self._by_id.get(named(event) or "")
        return [session] if session is not None and session.room.id == event.room_id else []

    async def record(self, token: str | None, room_id: str) -> TokenRecord | None:
        """The record of ``token`` if it belongs to this room (one read of the store)."""
        if not token:
            return None
        if self._dropping:
            await asyncio.gather(*self._dropping, return_exceptions=True)
        found = await self.tokens.get(token)
        return found if found is not None and found.room_id == room_id else None

    async def join(
        self,
        room: Room,
        *,
        channel: str,
        role: Role,
        name: str | None,
        default_name: str = "",
        identity: str | None = None,
        account_id: str | None = None,
        resume: str | None = None,
        token: str | None = None,
        attach: Callable[[ParticipantSession[T]], T] | None = None,
    ) -> tuple[ParticipantSession[T], list[ev.Event]]:
        """Join as a new participant. A known ``resume`` token of this room rejoins as its
        participant: the same id (unless that one is still here), identity, name (unless
        another is given) and at least its role, also on a node whose conference never
        saw it (issue 16); if its record says it was let in, it does not knock again.
        ``token``: the token to keep the record under when ``resume`` finds none, chosen
        by a node of the cluster (a relayed call's), never by a client. ``attach`` makes
        the channel's object before the join: the join's own events may come at once."""
        old = await self.record(resume, room.id)
        session: ParticipantSession[T] = ParticipantSession.start(
            self._conferences,
            room,
            channel=channel,
            role=Role.MODERATOR if old is not None and old.role is Role.MODERATOR else role,
            name=name,
            default_name=old.name if old is not None else default_name,
            identity=old.identity if old is not None else identity,
            account_id=account_id,
            token=resume if old is not None else token,
        )
        session.returning = old is not None and old.admitted
        if old is not None and self._free(room, old.participant_id):
            session.id = old.participant_id
        if attach is not None:
            session.link = attach(session)
        self._by_id[session.id] = session
        try:
            events = await session.join()
        except DomainError:
            self._by_id.pop(session.id, None)
            raise
        await self._remember(session, events)
        return session, events

    def _free(self, room: Room, participant_id: str) -> bool:
        """Whether a carried-over id is unused here: not a session, not in the conference."""
        if participant_id in self._by_id:
            return False
        return self._conferences.present(room, participant_id) is None

    async def _remember(self, session: ParticipantSession[T], events: list[ev.Event]) -> None:
        """Write the token's record with the role the conference gave (it may remember a
        higher one than asked) and whether it let the participant in. The participant is
        in already: a store out of reach costs only the rejoin on another node, so it is
        logged, not raised."""
        role = session.role
        for event in events:
            if isinstance(event, ev.ParticipantJoined) and event.participant.id == session.id:
                role = Role(event.participant.role)
                session.admitted = True
        record = TokenRecord(
            session.id, session.room.id, session.identity, session.name, role, session.admitted
        )
        await self._write(session, record)
        if session.admitted and not record.admitted:  # admitted while the record was written
            await self._write(session, replace(record, admitted=True))

    async def _write(self, session: ParticipantSession[T], record: TokenRecord) -> None:
        session.record = record
        try:
            await self.tokens.put(session.token, record, self.token_ttl)
        except DomainError as exc:
            log.warning("resume token of %s not stored: %s", session.id, exc.code)

    def _admitted(self, session: ParticipantSession[T], role: Role) -> None:
        """The lobby let ``session`` in: its record says so from now on (issue 16)."""
        session.admitted = True
        record = session.record
        if record is not None and session.token and not record.admitted:
            self._later(self._write(session, replace(record, role=role, admitted=True)))

    async def resume(self, token: str | None, room_id: str) -> ParticipantSession[T] | None:
        """The same participant, still in the conference on this node (dropped within its
        grace, or on another socket): its grace stops."""
        known = await self.record(token, room_id)
        s = self._by_id.get(known.participant_id) if known is not None else None
        if s is None or s.room.id != room_id or s.token != token:
            return None
        if self._conferences.participant(room_id, s.id) is None:
            return None
        self._stop_grace(s)
        return s

    def drop(self, session: ParticipantSession[T]) -> None:
        """The channel lost the participant: it stays ``grace`` seconds, then leaves."""
        if session.id in self._by_id and session._grace is None:
            session._grace = asyncio.create_task(self._expire(session), name=f"grace-{session.id}")

    async def _expire(self, session: ParticipantSession[T]) -> None:
        await asyncio.sleep(self.grace)
        session._grace = None
        await session.leave("dropped")
        self.forget(session.id)

    def forget(self, participant_id: str) -> None:
        """No longer a participant here (its token still rejoins, until the end)."""
        session = self._by_id.pop(participant_id, None)
        if session is not None:
            self._stop_grace(session)

    @staticmethod
    def _stop_grace(session: ParticipantSession[T]) -> None:
        task, session._grace = session._grace, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def observe(self, event: ev.Event) -> None:
        """Keep the map true to the conference: call after the channel followed ``event``."""
        match event:
            case ev.ParticipantJoined(participant=view) if view.id in self._by_id:
                self._admitted(self._by_id[view.id], Role(view.role))
            case ev.ParticipantLeft(participant_id=pid, reason=reason):
                session = self._by_id.get(pid)
                if session is not None and session.token and reason in _FORGOTTEN:
                    self._later(self.tokens.drop(session.token))
                self.forget(pid)
            case ev.LobbyLeft(lobby_id=pid, reason=reason) if reason != "admitted":
                self.forget(pid)
            case ev.ConferenceEnded(room_id=room_id, reason=reason):
                for s in self.in_room(room_id):
                    self.forget(s.id)
                # The conference forgets who was in it (F-EN2: back into a locked room
                # only by knocking), so the room's tokens mean nothing any more; unless
                # it moved to another node (issue 16), where they rejoin.
                if reason != MOVED:
                    self._later(self.tokens.drop_room(room_id))

    def _later(self, work: Coroutine[object, object, None]) -> None:
        task = asyncio.create_task(self._quietly(work))
        self._dropping.add(task)
        task.add_done_callback(self._dropping.discard)

    @staticmethod
    async def _quietly(work: Coroutine[object, object, None]) -> None:
        try:
            await work
        except DomainError as exc:  # the store out of reach: the record expires anyway
            log.warning("resume tokens not dropped: %s", exc.code)

    def close(self) -> None:
        for s in self._by_id.values():
            self._stop_grace(s)
