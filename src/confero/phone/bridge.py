"""The phone bridge: takes SIP calls, gives each an RTP leg and a ``PhoneCall``, and
routes the conference's events to the callers they concern.

Numbers (F-PH1): the shared access number (``CONFERO_ACCESS_NUMBER``, or any number that
is not a room's) asks "press 1", then the conference number; a room's conference number
dialled directly is that room's own number and skips straight to the PIN. Dial-out goes
through ``CONFERO_SIP_TRUNK`` for every ``InviteRequested``, whoever asked: the keypad's
``*8``, the page's "call a phone number" or the REST API (F-WB6); the callee hears "you
are invited, press 1" and joins as a participant.

Offer/answer (F-PH1, issue 13): an offer we cannot take is refused with 488 before
anything rings; an INVITE without SDP (late offer) gets our offer of every codec we have
in the 200 and its leg follows the answer in the ACK; re-INVITEs with SDP (hold, resume)
are answered, without SDP they get our offer for the call as it is: what a call says
after its first answer is ``phone/call_media.py``.

No reflection (issue 14): a call's leg joins the mixer (and the IVR starts) only once
the caller's ACK confirms the dialog, so an INVITE that names someone else's address in
its SDP and never ACKs makes us send nothing there; a phone not heard (no RTP, no RTCP)
for ``media_timeout`` seconds (``media_hold_timeout`` while it holds the call) is hung
up by one watchdog task for all calls (``PhoneCall.check_media``).

Observability (issue 18): each call's task carries its SIP Call-ID in the log context
(observe/logs.py), so every line logged while handling the call names it; and with
``metrics`` set the bridge counts what became of calls: admitted (into a conference or
its lobby), refused by reason (``no_codec`` for a 488, ``wrong_pin`` when the IVR gives
up at the PIN, ``rate_limited`` at a PIN lock-out, ``full`` at a room's cap), each wrong
PIN, and hands every leg's RTCP intervals (loss, jitter) to the histograms.

Cluster (issue 16 item 5, F-SC2): a caller admitted by the voice menu on a node that
does not run the room is passed on, not sent through a second menu: this node calls the
owner with a signed ``X-Confero-Admit`` (phone/admit_token.py) and relays the RTP both
ways (phone/relay.py) until either side hangs up; a caller's SIP INFO digits are sent on
as INFO. The owner takes such an INVITE straight into the room with the token's role,
refuses a bad, expired or replayed token with 403 before any menu, and never passes a
relayed call on again (no loops while a lease moves). The caller's recorded name goes
to the owner through the cluster's ``CallerNames`` store (app/caller_names.py), under
the call's resume token: the owner announces a relayed caller by their own voice, as a
direct caller. The owner tells a
relayed caller how many are in the room (the first node's menu does not: it does not run
the room), once: not when the call joins again after an owner died. A relayed call's
participant record is kept under the token's ``resume`` in the cluster's store, so that
rejoin enters a locked room without knocking if, and only if, it had been let in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Coroutine
from datetime import UTC, tzinfo
from typing import Any

from confero.app.caller_names import CallerNames
from confero.app.conferences import ConferenceService
from confero.app.ports import EventBus
from confero.app.rooms import RoomService
from confero.app.session import ParticipantSession, ResumeTokens, Sessions
from confero.domain.errors import DomainError
from confero.domain.events import Event, InviteRequested
from confero.domain.roles import Role
from confero.domain.rooms import CONFERENCE_NUMBER_LENGTH, Room
from confero.media.engine import MediaEngine
from confero.media.leg import RtpAudioLeg
from confero.media.phone_codecs import PCMU, codec_for
from confero.media.prompts import PromptLibrary
from confero.observe import logs
from confero.observe.metrics import Metrics
from confero.phone import admit_token
from confero.phone.admit_token import AdmitClaims, AdmitRefused, AdmitVerifier
from confero.phone.call import PhoneCall, Samples
from confero.phone.call_media import CallMedia
from confero.phone.ivr import Admitted, DialIn, SayCount
from confero.phone.pass_on import pass_to_owner, shared_name
from confero.phone.relay import Relayed
from confero.sip import offer_answer, sdp
from confero.sip.digest import Credentials
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent

log = logging.getLogger(__name__)
INVITED_ANSWER_SECONDS = 10.0
_PORT_TO_COME = 9
#: What of a caller's number may go in the From of a relayed call's INVITE.
_NOT_IN_USER = re.compile(r"[^A-Za-z0-9+._-]")


class PhoneBridge:
    #: The trunk account: dial-out answers its digest challenges (issue 13).
    trunk_auth: Credentials | None = None
    #: Phone calls one room takes on this node (``CONFERO_SIP_MAX_CALLS_PER_ROOM``,
    #: issue 14); the next caller hears "this conference is full"; 0: no cap.
    max_calls_per_room: int = 0
    #: Seconds without RTP or RTCP from a phone before its call ends (issue 14,
    #: ``CONFERO_MEDIA_TIMEOUT``), and while it holds the call (baresip stops RTP on
    #: hold: ``CONFERO_MEDIA_HOLD_TIMEOUT``); 0: no limit.
    media_timeout: float = 30.0
    media_hold_timeout: float = 600.0
    #: The codecs we offer and accept, best first (wideband, then G.711: issue 13).
    codecs: tuple[str, ...] = offer_answer.PREFERENCE
    #: The node's metrics (issue 18); None: nothing is counted.
    metrics: Metrics | None = None
    #: In a cluster (issue 16): the secret relayed calls' tokens are signed with, and
    #: the check of incoming ones; empty/None: one process, nothing is relayed.
    cluster_secret: bytes = b""
    admit: AdmitVerifier | None = None
    #: Where a relayed caller's recorded name goes for the owner to read (issue 16).
    names: CallerNames | None = None

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
        tokens: ResumeTokens | None = None,
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
        #: Their records live in ``tokens`` (the cluster's store, issue 16): a relayed
        #: call's, kept by its owner, is read where the call joins again.
        self.sessions: Sessions[PhoneCall] = Sessions(conferences, tokens=tokens)
        self._invited: dict[PhoneCall, Room] = {}
        #: Calls passed on to us by another node, their token's word (issue 16).
        self._admitted: dict[PhoneCall, AdmitClaims] = {}
        self._relayed_in: set[PhoneCall] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._unsubscribe: Callable[[], None] = _nothing
        self._watchdog: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.ua.on_invite = self._invite
        self._unsubscribe = self.bus.subscribe(self._event)
        self._watchdog = asyncio.ensure_future(self._watch_media())

    async def _watch_media(self) -> None:
        """Issue 14: one task for every call ends those whose phone fell silent."""
        while True:
            await asyncio.sleep(max(0.05, min(1.0, self.media_timeout / 4 or 1.0)))
            self._check_media(time.monotonic())

    def _check_media(self, now: float) -> None:
        """(Out of the loop: its variables would hold the last call while it sleeps.)"""
        for call in list(self.calls):
            try:
                call.check_media(now, self.media_timeout, self.media_hold_timeout)
            except Exception:  # one call's failure must not stop the watch
                log.exception("media check of call %s failed", call.sip.call_id)

    async def stop(self) -> None:
        self.ua.on_invite = None
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
            self._watchdog = None
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
        claims: AdmitClaims | None = None
        token = sip_call.invite.headers.get(admit_token.HEADER)
        if token is not None:
            try:
                claims = self._check_admit(token)
            except AdmitRefused as exc:
                log.info("call %s refused: %s", sip_call.call_id, exc.reason)
                sip_call.reject(403, f"Forbidden ({exc.reason})")
                return
        if sip_call.late_offer:  # no SDP: our offer goes in the 200, the answer in the ACK
            sip_call.ring()
            self._spawn(self._take(sip_call, None, claims), f"call-{sip_call.call_id}")
            return
        try:
            offer = sdp.parse(sip_call.invite.body.decode("utf-8", "replace"))
            # negotiated before any provisional answer (issue 13: a 488 after 180 Ringing
            # confuses phones); the leg needs the codec, so the port is filled in later
            # in the one m-line we accepted (rejected ones have port 0)
            answered = offer_answer.answer(
                offer,
                local_ip=self.media_host,
                local_port=_PORT_TO_COME,
                session_id=0,
                session_version=0,
                prefer=self.codecs,
            )
        except sdp.NoUsableMedia as exc:
            log.info("call %s refused: no codec in common", sip_call.call_id)
            self._refused("no_codec")
            sip_call.reject(488, f"Not Acceptable Here ({exc})"[:100])
            return
        except sdp.SdpError as exc:
            sip_call.reject(400, f"Bad Request (SDP: {exc})"[:100])
            return
        sip_call.ring()
        self._spawn(self._take(sip_call, answered, claims), f"call-{sip_call.call_id}")

    def _check_admit(self, token: str) -> AdmitClaims:
        """A relayed call's token (issue 16): its claims, or ``AdmitRefused``."""
        if self.admit is None:
            raise AdmitRefused("not a cluster node")
        return self.admit.verify(token)

    async def _take(
        self,
        sip_call: SipCall,
        answered: tuple[sdp.SessionDescription, offer_answer.Negotiated] | None,
        claims: AdmitClaims | None = None,
    ) -> None:
        # This task (and every task it starts) logs with the call's id (issue 18).
        logs.bind(call_id=sip_call.call_id)
        log.info("incoming call from %s", sip_call.source)
        if self.ring_seconds > 0 and claims is None:  # a relayed call rang on its node
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sip_call.ended.wait(), self.ring_seconds)
            if sip_call.state == "ended":
                return  # the caller gave up (CANCEL) while it rang
        if answered is None:
            media = await self._take_late_offer(sip_call)
            if media is None:
                return
        else:
            answer, negotiated = answered
            codec = codec_for(negotiated.codec_name, negotiated.payload_type)
            leg = RtpAudioLeg(
                secrets.token_hex(6), codec, dtmf_payload_type=negotiated.dtmf_payload_type
            )
            try:
                port = await leg.open(self.media_host)
            except OSError:
                sip_call.reject(503, "Service Unavailable (no media port)")
                return
            for m in answer.media:
                if m.port == _PORT_TO_COME:
                    m.port = port
            media = CallMedia(leg, sip_call.source, self.media_host, inbound=True)
            media.apply(negotiated)
            if sip_call.state == "ended":  # cancelled while we were opening the port
                leg.close()
                return
            sip_call.answer(media.origin.stamp(answer))
        media.follow(sip_call)  # a re-INVITE or a digit may come right after the ACK
        call = self._call(sip_call, media)
        if not await _confirmed(sip_call):  # issue 14: no RTP (no IVR) before the ACK
            media.leg.close()
            return
        if claims is not None:
            self._admitted[call] = claims
        self.calls.add(call)
        await call.run()

    async def _take_late_offer(self, sip_call: SipCall) -> CallMedia | None:
        """An INVITE without SDP: our offer (every codec we have) in the 200, the answer
        from the ACK (RFC 3264, RFC 3261 13.3.1.4; the UA says BYE to an ACK without a
        usable one). The leg opens before the codec is known (the offer needs its port)
        and is opened again on that port for the codec the answer chose."""
        leg = RtpAudioLeg(secrets.token_hex(6), PCMU)
        try:
            port = await leg.open(self.media_host)
        except OSError:
            sip_call.reject(503, "Service Unavailable (no media port)")
            return None
        media = CallMedia(leg, sip_call.source, self.media_host, inbound=True)
        media.offer = offer_answer.offer(
            local_ip=self.media_host,
            local_port=port,
            session_id=0,
            session_version=0,
            codecs=self.codecs,
        )
        answered: asyncio.Future[offer_answer.Negotiated] = asyncio.Future()

        def on_answer(body: bytes) -> bool:
            negotiated = media.accepted(body)
            if negotiated is not None and not answered.done():
                answered.set_result(negotiated)
            return negotiated is not None

        sip_call.on_answer = on_answer
        if sip_call.state == "ended":
            leg.close()
            return None
        sip_call.answer(media.origin.stamp(media.offer))
        ended = asyncio.ensure_future(sip_call.ended.wait())
        waits: list[asyncio.Future[Any]] = [answered, ended]
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        ended.cancel()
        if not answered.done() or sip_call.state == "ended":
            answered.cancel()
            leg.close()
            return None
        media.use(answered.result())
        return media

    async def dial_in(self, call: PhoneCall) -> Admitted | None:
        invited = self._invited.pop(call, None)
        if invited is not None:
            return await self._invited_flow(call, invited)
        claims = self._admitted.pop(call, None)
        if claims is not None:
            return await self._relayed_flow(call, claims)
        called = call.sip.called
        # A room's own number goes straight to the PIN, looked up only with it (issue 14:
        # whether a number is a room's must not show before the PIN).
        direct = (
            called != self.access_number
            and called.isdigit()
            and len(called) == CONFERENCE_NUMBER_LENGTH
        )
        script = DialIn(
            call,
            self.rooms,
            self.conferences,
            shared_number=not direct,
            number=called if direct else None,
            address=call.sip.source,
            time_zone=self.time_zone,
            on_pin_failure=self._pin_failed,
        )
        admitted = await script.run()
        if script.refused is not None:
            log.info("call %s refused at the PIN (%s)", call.sip.call_id, script.refused)
            self._refused(script.refused)
        return admitted

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

    async def _relayed_flow(self, call: PhoneCall, claims: AdmitClaims) -> Admitted | None:
        """A call another node passed on (issue 16): its menu was heard there."""
        room = await self.rooms.get_by_id(claims.room_id)
        if room is None:
            await call.play("conference_has_ended", "goodbye")
            await call.hangup()
            return None
        call.caller = claims.caller
        call.language = room.language.value
        call.resume_token = claims.resume or None
        name = await shared_name(self.names, call)  # said on the first node
        self._relayed_in.add(call)
        if not await self._known(call, room):
            # The caller's node could not count a room it does not run: here, once.
            present = len(self.conferences.snapshot(room).get("participants", []))
            await call.play(SayCount(present))
        return Admitted(room, claims.role, name)

    async def _known(self, call: PhoneCall, room: Room) -> bool:
        """Whether a relayed call was in this room's meeting before (an owner died, it
        joins again): it has heard the count once already."""
        try:
            return await self.sessions.record(call.resume_token, room.id) is not None
        except DomainError:  # the store out of reach: the join will say so
            return False

    async def join(self, call: PhoneCall) -> tuple[ParticipantSession[PhoneCall], list[Event]]:
        assert call.room is not None
        try:
            if self.max_calls_per_room and self.calls_in(call.room.id, but=call) >= (
                self.max_calls_per_room
            ):
                raise DomainError("room.full", "this room takes no more phone calls")
            joined = await self.sessions.join(
                call.room,
                channel="phone",
                role=call.role,
                name=None,
                default_name=f"Phone {call.caller}",
                identity=f"phone:{call.sip.call_id}",
                # a call passed between nodes: its record, and whether it was let in
                resume=call.resume_token,
                token=call.resume_token,
                attach=lambda _: call,  # before the join: its events may come at once
            )
        except DomainError as exc:
            log.info("call %s not admitted: %s", call.sip.call_id, exc.code)
            if exc.code == "room.full":
                self._refused("full")
            raise
        logs.bind(room_id=call.room.id, participant_id=joined[0].id)
        log.info("call %s admitted", call.sip.call_id)
        if self.metrics is not None:
            self.metrics.calls_admitted.inc()
        return joined

    def calls_in(self, room_id: str, *, but: PhoneCall | None = None) -> int:
        """Live phone calls admitted to ``room_id`` (joined, joining or knocking)."""
        return sum(
            1
            for c in self.calls
            if c is not but
            and c.room is not None
            and c.room.id == room_id
            and c.sip.state != "ended"
        )

    def name_of(self, participant_id: str) -> Samples | None:
        session = self.sessions.get(participant_id)
        call = session.link if session is not None else None
        return call.name if call is not None else None

    def forget(self, call: PhoneCall) -> None:
        self.calls.discard(call)
        self._relayed_in.discard(call)
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
            session_id=0,
            session_version=0,
            codecs=self.codecs,
        )
        origin = offer_answer.SessionOrigin()
        target = f"sip:{number}@{trunk.address[0]}:{trunk.address[1]}"
        try:
            sip_call = await self.ua.call(
                target,
                trunk,
                origin.stamp(our_offer),
                from_user=self.access_number or "confero",
                credentials=self.trunk_auth,
            )
        except BaseException:
            leg.close()
            raise
        logs.bind(call_id=sip_call.call_id)  # this dial-out task logs with its call (issue 18)
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
        media = CallMedia(leg, sip_call.peer.address[0], self.media_host, origin=origin)
        media.use(negotiated)
        media.follow(sip_call)
        call = self._call(sip_call, media)
        call.caller = number  # the callee: the From of our own INVITE is us
        self._invited[call] = room
        self.calls.add(call)
        await call.run()
        return True

    # ------------------------------------------------------------------ cluster relay
    async def relay(self, call: PhoneCall, admitted: Admitted) -> Relayed:
        """Pass ``call`` on to the node that runs its room (issue 16, phone/pass_on.py);
        ``REFUSED`` for a call that was itself relayed here (no loops)."""
        if call in self._relayed_in:
            return Relayed.REFUSED
        placement = self.conferences.registry.placement
        return await pass_to_owner(
            self.ua, self.media_host, self.cluster_secret, placement, self.names, call, admitted
        )

    # ------------------------------------------------------------------ metrics
    def _call(self, sip_call: SipCall, media: CallMedia) -> PhoneCall:
        """The call of ``sip_call`` on ``media``'s leg, its RTCP intervals in the
        histograms."""
        if self.metrics is not None:
            media.leg.observe_reception(self.metrics.observe_leg)
        return PhoneCall(self, sip_call, media)

    def _refused(self, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.refuse(reason)

    def _pin_failed(self) -> None:
        if self.metrics is not None:
            self.metrics.pin_failures.inc()

    # ------------------------------------------------------------------ quality
    def quality_of(self, participant_id: str) -> dict[str, object] | None:
        """The ``MediaQuality`` port (issue 13): a phone participant's codec and its
        leg's RTCP figures for the API's participant list; None for anyone else."""
        session = self.sessions.get(participant_id)
        call = session.link if session is not None else None
        return call.leg.quality().to_dict() if call is not None else None


def _nothing() -> None:
    pass


async def _confirmed(sip_call: SipCall) -> bool:
    """Wait for the ACK of our 200 (or the end of the call); whether it came."""
    if not sip_call.confirmed.is_set() and sip_call.state != "ended":
        waits = [
            asyncio.ensure_future(sip_call.confirmed.wait()),
            asyncio.ensure_future(sip_call.ended.wait()),
        ]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in waits:
                fut.cancel()
    return sip_call.confirmed.is_set() and sip_call.state != "ended"
