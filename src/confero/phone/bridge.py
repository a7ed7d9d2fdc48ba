"""The phone bridge: takes SIP calls, gives each an RTP leg and a ``PhoneCall``, and
routes the conference's events to the callers they concern.

Numbers (F-PH1): the shared access number (``CONFERO_ACCESS_NUMBER``, or any number that
is not a room's) asks "press 1", then the conference number; a room's conference number
dialled directly is that room's own number and skips straight to the PIN. Dial-out goes
through ``CONFERO_SIP_TRUNK`` for every ``InviteRequested``, whoever asked: the keypad's
``*8``, the page's "call a phone number" or the REST API (F-WB6); the callee hears "you
are invited, press 1" and joins as a participant.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Coroutine
from datetime import UTC, tzinfo
from typing import Any

from confero.app.conferences import ConferenceService
from confero.app.ports import EventBus
from confero.app.rooms import RoomService
from confero.app.session import ParticipantSession, Sessions
from confero.domain.events import Event, InviteRequested
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.media.engine import MediaEngine
from confero.media.g711 import G711_CODECS, PCMU
from confero.media.leg import RtpAudioLeg
from confero.media.prompts import PromptLibrary
from confero.phone.call import PhoneCall, Samples
from confero.phone.ivr import Admitted, DialIn
from confero.sip import offer_answer, sdp
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent

log = logging.getLogger(__name__)
INVITED_ANSWER_SECONDS = 10.0
_PORT_TO_COME = 9


class PhoneBridge:
    def __init__(
        self,
        ua: UserAgent,
        engine: MediaEngine,
        rooms: RoomService,
        conferences: ConferenceService,
        bus: EventBus,
        prompts: PromptLibrary,
        *,
        media_host: str,
        access_number: str = "",
        trunk: Peer | None = None,
        time_zone: tzinfo = UTC,
        ring_seconds: float = 0.0,
        knock_timeout: float = 300.0,
    ) -> None:
        self.ua = ua
        self.engine = engine
        self.rooms = rooms
        self.conferences = conferences
        self.bus = bus
        self.prompts = prompts
        self.media_host = media_host
        self.access_number = access_number
        self.trunk = trunk
        self.time_zone = time_zone
        #: How long a call rings before we answer (ringback, like a real line).
        self.ring_seconds = ring_seconds
        #: How long a caller knocks on a locked room before giving up (0: no limit).
        self.knock_timeout = knock_timeout
        self.calls: set[PhoneCall] = set()
        #: The callers' participants; a phone that drops rejoins through the IVR (no grace).
        self.sessions: Sessions[PhoneCall] = Sessions(conferences)
        self._invited: dict[PhoneCall, Room] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] = _nothing

    def start(self) -> None:
        self.ua.on_invite = self._invite
        self._unsubscribe = self.bus.subscribe(self._event)

    async def stop(self) -> None:
        self.ua.on_invite = None
        self._unsubscribe()
        for call in list(self.calls):
            call.sip.hangup("shutdown")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5)
        for task in list(self._tasks):
            task.cancel()

    @property
    def tasks(self) -> int:
        return len(self._tasks)

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ calls in
    def _invite(self, sip_call: SipCall) -> None:
        try:
            offer = sdp.parse(sip_call.invite.body.decode("utf-8", "replace"))
        except sdp.SdpError as exc:
            sip_call.reject(400, f"Bad Request (SDP: {exc})"[:100])
            return
        sip_call.ring()
        self._spawn(self._take(sip_call, offer), f"call-{sip_call.call_id}")

    async def _take(self, sip_call: SipCall, offer: sdp.SessionDescription) -> None:
        if self.ring_seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sip_call.ended.wait(), self.ring_seconds)
            if sip_call.state == "ended":
                return  # the caller gave up (CANCEL) while it rang
        leg_id = secrets.token_hex(6)
        try:
            # negotiated before the port is open (the leg needs the codec): the port is
            # filled in below, in the one m-line we accepted (rejected ones have port 0)
            answer, negotiated = offer_answer.answer(
                offer,
                local_ip=self.media_host,
                local_port=_PORT_TO_COME,
                session_id=secrets.randbelow(2**31),
                session_version=1,
            )
        except sdp.SdpError as exc:
            sip_call.reject(488, f"Not Acceptable Here ({exc})"[:100])
            return
        codec = G711_CODECS[negotiated.codec_name]
        leg = RtpAudioLeg(leg_id, codec, dtmf_payload_type=negotiated.dtmf_payload_type)
        try:
            port = await leg.open(self.media_host)
        except OSError:
            sip_call.reject(503, "Service Unavailable (no media port)")
            return
        for media in answer.media:
            if media.port == _PORT_TO_COME:
                media.port = port
        host = sip_call.peer.address[0]
        self._apply(leg, negotiated, host)
        call = PhoneCall(self, sip_call, leg)
        sip_call.on_offer = lambda body: self._reoffer(leg, body, host)
        if sip_call.state == "ended":  # cancelled while we were opening the port
            leg.close()
            return
        self.calls.add(call)
        sip_call.answer(answer.to_text().encode())
        await call.run()

    @staticmethod
    def _apply(
        leg: RtpAudioLeg, negotiated: offer_answer.Negotiated, peer_host: str | None = None
    ) -> None:
        if negotiated.remote_address is not None:
            leg.set_remote(negotiated.remote_address, peer_host=peer_host)
        leg.sending = negotiated.we_send

    def _reoffer(self, leg: RtpAudioLeg, body: bytes, peer_host: str | None) -> bytes | None:
        """A re-INVITE: hold (sendonly / c=0.0.0.0) or resume; same port, same codec."""
        try:
            offer = sdp.parse(body.decode("utf-8", "replace"))
            answer, negotiated = offer_answer.answer(
                offer,
                local_ip=self.media_host,
                local_port=leg.local_port,
                session_id=1,
                session_version=2,
                prefer=(leg.codec.name,),
            )
        except sdp.SdpError:
            return None
        self._apply(leg, negotiated, peer_host)
        return answer.to_text().encode()

    async def dial_in(self, call: PhoneCall) -> Admitted | None:
        invited = self._invited.pop(call, None)
        if invited is not None:
            return await self._invited_flow(call, invited)
        called = call.sip.called
        room = None
        if called and called != self.access_number and called.isdigit():
            room = await self.rooms.by_number(called)
        script = DialIn(
            call,
            self.rooms,
            self.conferences,
            shared_number=room is None,
            room=room,
            time_zone=self.time_zone,
        )
        return await script.run()

    async def _invited_flow(self, call: PhoneCall, room: Room) -> Admitted | None:
        call.language = room.language.value
        for _ in range(2):
            await call.play("invited_press_1")
            answer = await call.collect(
                1, first_timeout=INVITED_ANSWER_SECONDS, next_timeout=INVITED_ANSWER_SECONDS
            )
            if answer == "1":
                return Admitted(room, Role.PARTICIPANT, None)
        await call.play("goodbye")
        await call.hangup()
        return None

    async def join(self, call: PhoneCall) -> tuple[ParticipantSession[PhoneCall], list[Event]]:
        assert call.room is not None
        return await self.sessions.join(
            call.room,
            channel="phone",
            role=call.role,
            name=None,
            default_name=f"Phone {call.caller}",
            identity=f"phone:{call.sip.call_id}",
            attach=lambda _: call,  # before the join: its events may come at once
        )

    def name_of(self, participant_id: str) -> Samples | None:
        session = self.sessions.get(participant_id)
        call = session.link if session is not None else None
        return call.name if call is not None else None

    def forget(self, call: PhoneCall) -> None:
        self.calls.discard(call)
        if call.participant_id is not None:
            self.sessions.forget(call.participant_id)

    # ------------------------------------------------------------------ events
    def _event(self, event: Event) -> None:
        """A fast bus subscriber, called as the actor emits: only hand over, never wait."""
        for pid in event.audience:
            session = self.sessions.get(pid)
            if session is not None and session.link is not None:
                session.link.deliver(event)
        self.sessions.observe(event)
        if isinstance(event, InviteRequested):
            # Whoever asked (keypad, page, REST), the phone side places the call (F-WB6).
            self._spawn(self._dial_out(event), f"dial-out-{event.number}")

    # ------------------------------------------------------------------ dial-out
    async def _dial_out(self, request: InviteRequested) -> None:
        """Call ``request.number`` through the trunk; the callee presses 1 to join.

        A failure is told to the inviter through the conference (``InviteFailed``): a
        phone inviter hears "invite_failed", a page shows it.
        """
        room = await self.rooms.get_by_id(request.room_id) if self.trunk is not None else None
        if self.trunk is None or room is None:
            await self._failed(request, "unavailable")
            return
        try:
            reached = await self._place(room, request.number, self.trunk)
        except OSError:  # no media port, the trunk's address unreachable
            log.exception("dial-out to %s failed", request.number)
            await self._failed(request, "error")
            return
        if not reached:
            await self._failed(request, "no_answer")

    async def _failed(self, request: InviteRequested, reason: str) -> None:
        await self.conferences.invite_failed(request.room_id, request.number, request.by, reason)

    async def _place(self, room: Room, number: str, trunk: Peer) -> bool:
        """The outgoing call; False when it is not answered (or answered with bad SDP)."""
        leg = RtpAudioLeg(secrets.token_hex(6), PCMU)
        port = await leg.open(self.media_host)
        our_offer = offer_answer.offer(
            local_ip=self.media_host,
            local_port=port,
            session_id=secrets.randbelow(2**31),
            session_version=1,
        )
        target = f"sip:{number}@{trunk.address[0]}:{trunk.address[1]}"
        try:
            sip_call = await self.ua.call(
                target,
                trunk,
                our_offer.to_text().encode(),
                from_user=self.access_number or "confero",
            )
        except BaseException:
            leg.close()
            raise
        if sip_call.state != "confirmed":
            leg.close()
            return False
        try:
            answer = sdp.parse(sip_call.remote_sdp.decode("utf-8", "replace"))
            negotiated = offer_answer.accept_answer(our_offer, answer)
        except sdp.SdpError:
            sip_call.hangup()
            leg.close()
            return False
        if negotiated.codec_name != leg.codec.name:
            leg.close()
            leg = RtpAudioLeg(leg.id, G711_CODECS[negotiated.codec_name])
            await leg.open(self.media_host, port)
        leg.dtmf_payload_type = negotiated.dtmf_payload_type
        host = sip_call.peer.address[0]
        self._apply(leg, negotiated, host)
        call = PhoneCall(self, sip_call, leg)
        call.caller = number  # the callee: the From of our own INVITE is us
        sip_call.on_offer = lambda body: self._reoffer(leg, body, host)
        self._invited[call] = room
        self.calls.add(call)
        await call.run()
        return True


def _nothing() -> None:
    pass
