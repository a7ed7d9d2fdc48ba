"""One phone call from the first ring to the hang-up: SIP, an RTP leg, IVR, keypad.

``PhoneCall`` is the ``CallIO`` the dial-in script talks to (prompts go to the caller's
own overlay in the mixer, digits come from RFC 4733 or SIP INFO, the name is recorded
from the caller's leg), then the caller's participant in the conference: keypad codes
become the same commands the REST API sends (``build_command``), and the events of the
conference become prompts and mixer settings for this caller. The conference decides;
the call only says what happened.

Decisions where the sources are silent:
- a caller's identity is the call itself (``phone:<Call-ID>``): two calls from the same
  number are two participants, and a phone that drops rejoins through the IVR;
- a prompt is cut short by a key press (barge-in), as on any voice menu;
- the name heard in announcements and ``*3`` is the caller's own recording; someone
  without one (a browser, a caller who said nothing) is "a participant".

Media timeout (issue 14): a phone that sends neither RTP nor RTCP for the bridge's
``media_timeout`` (``media_hold_timeout`` while it holds the call: baresip stops RTP on
hold) is gone or was never there (an INVITE naming another address); its call ends with
BYE. ``check_media`` is cheap and driven by one bridge task for all calls, not a timer
per call; the clock starts when the call does (after the ACK). A call whose leg's
sockets died with their media worker (issue 15 P4) ends at the next check, within a
second, not after the timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np
import numpy.typing as npt

from confero.app import session as ps
from confero.domain import events as ev
from confero.domain.controls import Control
from confero.domain.errors import DomainError
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.media.leg import RtpAudioLeg
from confero.media.mixer import MixLeg, gain_for_level
from confero.media.workers.remote import RemoteRtpLeg
from confero.phone.call_media import CallMedia, PhoneLeg
from confero.phone.ivr import Admitted, Speech
from confero.phone.keypad import Invalid, KeypadParser, Pressed
from confero.phone.relay import Relayed
from confero.sip.ua import SipCall

if TYPE_CHECKING:
    from confero.app.conferences import ConferenceService
    from confero.media.engine import AudioLeg, MediaEngine
    from confero.media.prompts import PromptLibrary

log = logging.getLogger(__name__)
Samples = npt.NDArray[np.int16]
RATE = 48_000
#: A digit flood is cut here: nobody types more than this many keys ahead.
MAX_PENDING_DIGITS = 32
HOLD_TOP_UP = 2.0
#: The engine room of a caller alone with the voice menu (its leg's id follows).
MENU_ROOM = "call:"
#: Times a passed-on call joins again after the node running its room died.
MAX_REJOINS = 3


class Switchboard(Protocol):
    """What a call needs of the bridge that took it (``PhoneBridge``).

    Declared here so that the call does not import the bridge: the bridge makes calls, the
    call only talks back through this (no import cycle; tests/test_architecture.py).
    """

    @property
    def engine(self) -> MediaEngine: ...

    @property
    def prompts(self) -> PromptLibrary: ...

    @property
    def conferences(self) -> ConferenceService: ...

    @property
    def knock_timeout(self) -> float:
        """Seconds a knocker waits in the lobby before giving up; 0: no limit."""
        ...

    async def dial_in(self, call: PhoneCall) -> Admitted | None: ...

    async def join(
        self, call: PhoneCall
    ) -> tuple[ps.ParticipantSession[PhoneCall], list[ev.Event]]: ...

    async def relay(self, call: PhoneCall, admitted: Admitted) -> Relayed:
        """Pass the call on to the node that runs its room (issue 16) and relay it
        until it ends or that node is gone; ``REFUSED`` when that cannot be done."""
        ...

    def name_of(self, participant_id: str) -> Samples | None: ...

    def forget(self, call: PhoneCall) -> None: ...


class PhoneCall:
    def __init__(
        self,
        bridge: Switchboard,
        sip: SipCall,
        media: CallMedia,
        *,
        language: str = "en",
    ) -> None:
        self.bridge = bridge
        self.sip = sip
        self.media = media
        leg = media.leg
        self.language = language
        self.caller = sip.caller
        self.room: Room | None = None
        self.role: Role = Role.PARTICIPANT
        self.participant_id: str | None = None
        self.session: ps.ParticipantSession[PhoneCall] | None = None
        #: The token its participant's record is kept under, once the call was passed on
        #: between nodes (issue 16): picked by the relaying node, sent in the admit
        #: token; its rejoin after an owner died proves by it that it had been let in.
        self.resume_token: str | None = None
        self.in_lobby = False
        self.name: Samples | None = None
        self._engine_room = MENU_ROOM + leg.id  # alone with the voice menu
        self._mix: MixLeg | None = None
        self._digits: asyncio.Queue[str] = asyncio.Queue(MAX_PENDING_DIGITS)
        self.keys_heard = 0  #: by RTP or INFO (what a test says of a caller who got nowhere)
        self._events: asyncio.Queue[ev.Event] = asyncio.Queue()
        self._keypad = KeypadParser()
        self._recording: list[Samples] | None = None
        self._hold: asyncio.Task[None] | None = None
        #: When a knocker gives up (monotonic seconds); None outside the lobby.
        self._knock_deadline: float | None = None
        self._hung_up = False
        self._last_level = 0
        sip.on_digit = self.digit
        leg.on_digit = self.digit

    @property
    def engine(self) -> MediaEngine:
        return self.bridge.engine

    @property
    def leg(self) -> PhoneLeg:
        """The call's leg, as whatever drives it now (``_move_to_room``)."""
        return self.media.leg

    # ------------------------------------------------------------------ CallIO
    def digit(self, d: str) -> None:
        self.keys_heard += 1
        with contextlib.suppress(asyncio.QueueFull):  # a flood of DTMF is bounded
            self._digits.put_nowait(d)

    async def play(self, *items: Speech) -> None:
        if self.sip.state == "ended" or not self._digits.empty():
            return  # the caller typed ahead: skip to what they answer
        samples = self.bridge.prompts.render(items, self.language)
        await self._play_samples(samples, interruptible=True)

    async def _play_samples(self, samples: Samples, *, interruptible: bool) -> None:
        mix = self._mix
        if mix is None or samples.size == 0:
            return
        mix.overlay.clear()
        mix.overlay.add(samples)
        seconds = samples.size / RATE
        waits: list[asyncio.Future[Any]] = [asyncio.ensure_future(self.sip.ended.wait())]
        if interruptible:
            waits.append(asyncio.ensure_future(self._peek_digit()))
        try:
            done, _ = await asyncio.wait(
                waits, timeout=seconds + 0.1, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            for fut in waits:
                fut.cancel()
        if done:
            mix.overlay.clear()  # barge-in or hang-up: stop talking

    async def _peek_digit(self) -> None:
        d = await self._digits.get()
        # put it back in front: the prompt only stops, the digit is for collect()
        rest = [d]
        while not self._digits.empty():
            rest.append(self._digits.get_nowait())
        for x in rest:
            self._digits.put_nowait(x)

    async def collect(
        self, max_digits: int, *, terminator: str = "#", first_timeout: float, next_timeout: float
    ) -> str | None:
        got = ""
        timeout = first_timeout
        while len(got) < max_digits:
            d = await self._next_digit(timeout)
            if d is None:
                return got or None
            if d == terminator:
                return got
            got += d
            timeout = next_timeout
        return got

    async def _next_digit(self, seconds: float) -> str | None:
        if self.sip.state == "ended":
            return None
        get = asyncio.ensure_future(self._digits.get())
        ended = asyncio.ensure_future(self.sip.ended.wait())
        try:
            done, _ = await asyncio.wait(
                {get, ended}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED
            )
        finally:
            ended.cancel()
            if not get.done():
                get.cancel()
        if get in done:
            return get.result()
        return None

    async def record(self, max_seconds: float, *, terminator: str = "#") -> bytes | None:
        self._recording = []
        self.engine.tap(self.leg.id, self._recording.append)
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + max_seconds
            while (left := deadline - loop.time()) > 0:
                d = await self._next_digit(left)
                if d is None or d == terminator:
                    break
        finally:
            self.engine.tap(self.leg.id, None)
            frames, self._recording = self._recording, None
        if not frames:
            return None
        return np.concatenate(frames).astype(np.int16).tobytes()

    async def hangup(self) -> None:
        self._hung_up = True
        self.sip.hangup()

    def heard(self) -> None:
        """The phone was heard (a relay forwarded its RTP): the media timeout's clock."""
        self.leg.last_heard = time.monotonic()

    def leave_mixer(self) -> None:
        """Out of this node's mix (its RTP is relayed to another node, issue 16)."""
        self._stop_hold()
        self.engine.remove_leg(self._engine_room, self.leg.id)
        self._mix = None

    def check_media(self, now: float, timeout: float, hold_timeout: float) -> bool:
        """End the call (BYE) if the phone was not heard for ``timeout`` seconds
        (``hold_timeout`` while it holds the call; 0: no limit); whether it ended."""
        if self.sip.state == "ended":
            return False
        if isinstance(self.leg, RemoteRtpLeg) and self.leg.lost:
            reason = "media_lost"
            log.warning("call %s: its media worker died, hanging up", self.sip.call_id)
        else:
            limit = hold_timeout if self.leg.held else timeout
            if limit <= 0 or now - self.leg.last_heard < limit:
                return False
            reason = "media_timeout"
            log.info("call %s: no RTP or RTCP for %.0f s, hanging up", self.sip.call_id, limit)
        self._hung_up = True
        self.sip.hangup(reason)
        return True

    # ------------------------------------------------------------------ the call
    async def run(self) -> None:
        """IVR, then the conference, then clean up; never raises."""
        leg = self._own_leg()
        leg.last_heard = max(leg.last_heard, time.monotonic())  # media clock
        self._mix = self.engine.add_leg(self._engine_room, leg, listening=False)
        # with media workers a worker drives the leg from now on (issue 15 P4)
        self.media.leg = cast(PhoneLeg, self.engine.handed_over(leg))
        try:
            admitted = await self.bridge.dial_in(self)
            if admitted is not None and self.sip.state != "ended":
                await self._conference(admitted)
        except Exception:
            log.exception("phone call %s failed", self.sip.call_id)
        finally:
            await self._cleanup()

    async def _conference(self, admitted: Admitted) -> None:
        self.room, self.role = admitted.room, admitted.role
        if admitted.name_recording:
            self.name = np.frombuffer(admitted.name_recording, dtype=np.int16)
        session = await self._join_where_it_runs(admitted)
        if session is None:
            return
        self.session, self.participant_id = session, session.id
        self._move_to_room(listening=False)
        self.in_lobby = session.knocking
        if self.in_lobby:
            await self._say("conference_locked_wait")
            self._start_hold()
            if self.bridge.knock_timeout > 0:
                self._knock_deadline = time.monotonic() + self.bridge.knock_timeout
        else:
            self._enter()
            await self._recording_notice()
        await self._loop()

    async def _join_where_it_runs(
        self, admitted: Admitted
    ) -> ps.ParticipantSession[PhoneCall] | None:
        """Join here, or be passed on to the node that runs the room (issue 16); when
        that node dies mid-call, join again wherever the room runs then. None: the call
        is over (relayed and ended, or refused with a prompt)."""
        for _ in range(MAX_REJOINS):
            try:
                session, _ = await self.bridge.join(self)
                return session
            except DomainError as exc:
                if exc.code == "conference.elsewhere":
                    outcome = await self.bridge.relay(self, admitted)
                    if outcome is Relayed.OWNER_LOST and self.sip.state != "ended":
                        continue  # the room's node died: its lease has lapsed
                    if outcome is not Relayed.REFUSED:
                        return None
                await self.play(exc.kind.prompt or "conference_has_ended", "goodbye")
                await self.hangup()
                return None
        await self.play("conference_has_ended", "goodbye")
        await self.hangup()
        return None

    def _move_to_room(self, *, listening: bool) -> None:
        assert self.room is not None
        source, self._engine_room = self._engine_room, self.room.id
        self._mix = self.engine.move_leg(
            cast("AudioLeg", self.leg),
            source,
            self.room.id,
            listening=listening,
            owner=self.participant_id,
        )

    async def own_sockets(self) -> None:
        """The leg's sockets in this process (a relay to another node forwards its RTP,
        issue 16), still mixed for the voice menu's last words."""
        leg = await self.engine.reclaim(cast("AudioLeg", self.leg))
        if leg is self.leg:
            return
        self.media.leg = cast(PhoneLeg, leg)
        self._mix = self.engine.add_leg(self._engine_room, leg, listening=False)

    def _own_leg(self) -> RtpAudioLeg:
        leg = self.leg
        assert isinstance(leg, RtpAudioLeg), "a call starts with its sockets here"
        return leg

    def _enter(self) -> None:
        """In the room: hear it, be heard (unless the room mutes newcomers)."""
        self.in_lobby = False
        self._knock_deadline = None
        self._stop_hold()
        if self._mix is not None:
            self._mix.listening = True
            self._mix.overlay_only = False
        self._sync()

    async def _recording_notice(self) -> None:
        """Entering a conference that is being recorded: the caller is told (issue 12)."""
        if self.room is not None and self.bridge.conferences.snapshot(self.room).get("recording"):
            await self._say("recording_started")

    def _sync(self) -> None:
        """Own mute and volume, as the session followed them from the conference."""
        if self._mix is not None and self.session is not None:
            self._mix.muted = self.session.muted
            self._mix.gain = gain_for_level(self.session.volume)

    async def _loop(self) -> None:
        while self.sip.state != "ended" and not self._hung_up:
            pending = (self._keypad.next_deadline(), self._knock_deadline)
            deadlines = [d for d in pending if d is not None]
            timeout = max(0.0, min(deadlines) - time.monotonic()) if deadlines else None
            get_digit = asyncio.ensure_future(self._digits.get())
            get_event = asyncio.ensure_future(self._events.get())
            ended = asyncio.ensure_future(self.sip.ended.wait())
            try:
                done, _ = await asyncio.wait(
                    {get_digit, get_event, ended},
                    timeout=timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for fut in (get_digit, get_event, ended):
                    if not fut.done():
                        fut.cancel()
            results = self._keypad.poll(time.monotonic())
            if get_digit in done and not self.in_lobby:
                results += self._keypad.feed(get_digit.result(), time.monotonic())
            for result in results:
                await self._key(result)
            if get_event in done:
                await self._event(get_event.result())
            await self._give_up_knocking(time.monotonic())

    # ------------------------------------------------------------------ keypad
    async def _key(self, result: Pressed | Invalid) -> None:
        if isinstance(result, Invalid):
            await self._say("not_allowed")
            return
        control: Control = result.control
        assert self.session is not None
        try:  # the conference checks the role (conference.moderator_only), not the phone
            await self.session.command(
                control.command.name, number=result.argument or None, confirm=True
            )
        except DomainError as exc:
            await self._say(exc.kind.prompt or "not_allowed")

    # ------------------------------------------------------------------ events
    def deliver(self, event: ev.Event) -> None:
        self._events.put_nowait(event)

    async def _event(self, event: ev.Event) -> None:
        me = self.participant_id
        for instruction in self.session.follow(event) if self.session is not None else ():
            await self._follow(instruction)
        match event:
            case ev.AllMuteChanged(muted=muted):
                await self._say("all_muted" if muted else "all_unmuted")
            case ev.LockChanged(locked=locked, by=by) if by == me:
                await self._say("conference_locked" if locked else "conference_unlocked")
            case ev.Knocked(lobby_id=knocker) if self.role is Role.MODERATOR and not self.in_lobby:
                if self.bridge.name_of(knocker) is not None:  # a caller: their own name
                    await self._announce(knocker, "is_waiting")
                else:
                    await self._say("knocking")
            case ev.AnnouncementsChanged(participant_id=pid, enabled=on) if pid == me:
                await self._say("announcements_on" if on else "announcements_off")
            case ev.ParticipantsListed(participants=people):
                await self._list(people)
            case ev.MenuListed(controls=controls):
                await self._say("menu_intro", *(_menu_prompt(keys) for keys, _, _ in controls))
            case ev.InviteRequested(by=by) if by == me:
                await self._say("calling")  # the bridge places the call (any inviter)
            case ev.InviteFailed(by=by) if by == me:
                await self._say("invite_failed")
            case ev.ParticipantJoined(participant=p, announce_to=listeners) if (
                me in listeners and p.id != me
            ):
                await self._announce(p.id, "has_joined")
            case ev.ParticipantLeft(participant_id=pid, reason="kicked", by=by) if (
                by == me and pid != me
            ):
                await self._say("participant_removed")
            case ev.WindowClosing():
                await self._say("ends_in_5_minutes")
            case ev.RecordingChanged(recording=on) if not self.in_lobby:
                await self._say("recording_started" if on else "recording_stopped")
            case _:
                pass

    async def _follow(self, instruction: ps.Instruction) -> None:
        """The phone's translation of what its participant must follow: prompts, mixer."""
        self._sync()
        match instruction:
            case ps.Entered() if self.in_lobby:
                self._enter()
                await self._say("admitted")
                await self._recording_notice()
            case ps.Denied(reason=reason):
                why = {"denied": "admission_denied", "full": "conference_full"}
                await self._finish(why.get(reason, "conference_closed"))
            case ps.MuteChanged(muted=True, by_self=by_self):
                await self._say("you_are_muted" if by_self else "muted_by_moderator")
            case ps.MuteChanged(muted=False):
                await self._say("you_are_unmuted")
            case ps.VolumeChanged(level=level):
                await self._say("louder" if level >= self._last_level else "softer")
                self._last_level = level
            case ps.Removed(reason=reason):
                if reason in ("kicked", "removed_by_host"):
                    await self._finish("you_were_removed")
                elif reason == "ended_by_host":
                    await self._finish("host_ended")
                else:
                    await self.hangup()
            case ps.Ended(reason=reason):
                ended_by_host = reason in ("ended_by_host", "reset")
                await self._finish("host_ended" if ended_by_host else "conference_closed")

    async def _say(self, *items: Speech) -> None:
        if self._mix is None or self.sip.state == "ended":
            return
        samples = self.bridge.prompts.render(items, self.language)
        await self._play_samples(samples, interruptible=False)

    async def _announce(self, participant_id: str, what: str) -> None:
        name = self.bridge.name_of(participant_id)
        parts: list[Samples] = [
            name
            if name is not None
            else self.bridge.prompts.render(["unnamed_participant"], self.language),
            self.bridge.prompts.render([what], self.language),
        ]
        await self._play_samples(np.concatenate(parts), interruptible=False)

    def _name(self, participant_id: str) -> Samples:
        """The participant's recorded name, or "a participant"."""
        name = self.bridge.name_of(participant_id)
        if name is not None:
            return name
        return self.bridge.prompts.render(["unnamed_participant"], self.language)

    async def _list(self, people: Sequence[ev.ParticipantView]) -> None:
        others = [p for p in people if p.id != self.participant_id]
        if not others:
            await self._say("no_one_else")
            return
        prompts = self.bridge.prompts
        gap = np.zeros(RATE // 4, dtype=np.int16)
        parts: list[Samples] = [prompts.render(["participants_present"], self.language), gap]
        for p in others:
            name = self.bridge.name_of(p.id)
            parts += [
                name
                if name is not None
                else prompts.render(["unnamed_participant"], self.language),
                gap,
            ]
        await self._play_samples(np.concatenate(parts), interruptible=True)

    async def _finish(self, prompt: str) -> None:
        """Say why the call ends, then hang up."""
        self._stop_hold()
        if self._mix is not None:
            self._mix.listening = False
        await self._say(prompt, "goodbye")
        await self.hangup()

    # ------------------------------------------------------------------ lobby
    def _start_hold(self) -> None:
        if self._mix is not None:
            self._mix.overlay_only = True
        self._hold = asyncio.ensure_future(self._hold_music())

    def _stop_hold(self) -> None:
        if self._hold is not None:
            self._hold.cancel()
            self._hold = None
        if self._mix is not None:
            self._mix.overlay.clear()
            self._mix.overlay_only = False

    async def _give_up_knocking(self, now: float) -> None:
        """Nobody let the caller in within ``knock_timeout``: say so and hang up; leaving
        (in ``_cleanup``) takes the lobby entry away, so the moderators see it go."""
        if self.in_lobby and self._knock_deadline is not None and now >= self._knock_deadline:
            self._knock_deadline = None
            await self._finish("knock_timeout")

    async def _hold_music(self) -> None:
        music = self.bridge.prompts.hold_music()
        while True:
            mix = self._mix
            if mix is not None and mix.overlay.remaining < HOLD_TOP_UP * RATE:
                mix.overlay.add(music)
            await asyncio.sleep(0.5)

    # ------------------------------------------------------------------ the end
    async def _cleanup(self) -> None:
        self._stop_hold()
        if self.session is not None:
            await self.session.leave()
        self.engine.remove_leg(self._engine_room, self.leg.id)  # with its owner and tap
        self.leg.close()
        self.sip.hangup()
        self.bridge.forget(self)
        self._let_go()

    def _let_go(self) -> None:
        """Undo the links that point back at this call (the leg's and the SIP call's
        callbacks, the session's link): the ended call is then freed as its task ends,
        by reference counting, not left for a full pass of the cycle collector (issue
        14: see confero/heap.py)."""
        self.leg.on_digit = None
        sip = self.sip
        sip.on_digit = sip.on_end = sip.on_offer = sip.on_answer = sip.make_offer = None
        if self.session is not None:
            self.session.link = None


def _menu_prompt(keys: str) -> str:
    return "menu_hash" if keys == "#" else "menu_star_" + keys.lstrip("*")
