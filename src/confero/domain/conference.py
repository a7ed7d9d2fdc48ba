"""The live conference as a state machine: every action of F-PH2, F-PH3 and F-EN1..F-EN7.

``Conference.apply`` validates one command against the rules and returns the events it
caused; it raises ``DomainError`` and changes nothing when a rule forbids the command.
Only a ``ConferenceActor`` calls it, so there is exactly one writer per conference.

Decisions where the sources are silent (what Zoom / ConfBridge users expect):
- moderators (admin PIN, owner, moderator members) never knock on a locked room;
- someone who dropped or left rejoins at once with their old role, lock or not (F-EN7),
  but not after being removed, and not after "end for everyone" (F-EN2: they knock);
- so does a ``returning`` join (issue 16): the conference formed again on another node
  after its owner died, so it never saw this identity, but the server checked its proof
  of having been let in (a resume token's record, app/session.py); the role stays the
  one asked for (the record's), a lock does not make it knock again;
- "mute all" (``*11``) mutes every participant but the moderators, and newcomers too,
  until "unmute all" (``*10``); "unmute all" lifts only mutes the moderator imposed, not
  a participant's own;
- a participant muted by the moderator may unmute themselves when the room allows it
  (``allow_self_unmute``, on by default), otherwise only a moderator can unmute them;
- ``*31`` removes the most recently joined participant who is not a moderator;
- ``*22`` admits whoever has waited longest in the lobby (a phone has no list to
  point at); with nobody waiting it is an error the caller hears;
- unlocking admits everyone waiting in the lobby who still fits; the rest are told the
  room is full, so a lobby exists only while the room is locked;
- the conference ends when the last participant leaves (F-RS4);
- a 1:1 call's conference (``ends_when_one_leaves``, F-WB3) ends for both as soon as
  one of them is out for any reason (left, dropped, kicked): reason ``call_ended``. A
  reload that replaces one's own leg is no hang-up;
- recording (issue 12) is the conference's state: moderators start and stop it, and it
  stops when the conference ends, whatever ends it. That last ``RecordingChanged`` is
  addressed to nobody in particular (an empty audience: every page of the room), so
  callers who are being hung up do not hear "recording stopped" first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.controls import controls_for
from confero.domain.errors import DomainError
from confero.domain.offline import require_confirmation
from confero.domain.participant import (
    VOLUME_MAX,
    VOLUME_MIN,
    LobbyEntry,
    Participant,
    clean_display_name,
)
from confero.domain.roles import Role
from confero.domain.snapshots import ConferenceSnapshot, LobbySnapshot

_DIAL_NUMBER = re.compile(r"\+?[0-9]{2,20}")

E = TypeVar("E", bound=ev.Event)


class Conference:
    def __init__(
        self,
        conference_id: str,
        room_id: str,
        *,
        capacity: int,
        locked: bool = False,
        allow_self_unmute: bool = True,
        mute_on_entry: bool = False,
        ends_when_one_leaves: bool = False,
    ) -> None:
        self.id = conference_id
        self.room_id = room_id
        self.capacity = capacity
        self.locked = locked
        self.allow_self_unmute = allow_self_unmute
        self.mute_on_entry = mute_on_entry
        #: A call room: one hanging up ends it for the other too (F-WB3).
        self.ends_when_one_leaves = ends_when_one_leaves
        self.participants: dict[str, Participant] = {}
        self.lobby: dict[str, LobbyEntry] = {}
        self.all_muted = False
        self.started = False
        self.ended = False
        self.recording = False
        self.end_reason: str | None = None
        self._remembered: dict[str, Role] = {}
        self._seq = 0

    # ------------------------------------------------------------------ queries
    def role_of(self, participant_id: str) -> Role | None:
        p = self.participants.get(participant_id)
        return p.role if p else None

    def frozen(self) -> ConferenceSnapshot:
        """The state as it is now, for readers outside the actor (domain/snapshots.py)."""
        return ConferenceSnapshot(
            id=self.id,
            room_id=self.room_id,
            locked=self.locked,
            all_muted=self.all_muted,
            allow_self_unmute=self.allow_self_unmute,
            capacity=self.capacity,
            ended=self.ended,
            end_reason=self.end_reason,
            recording=self.recording,
            participants=tuple(p.frozen() for p in self._in_join_order()),
            lobby=tuple(
                LobbySnapshot(e.id, e.display_name, e.role, e.channel, e.identity, e.account_id)
                for e in self.lobby.values()
            ),
        )

    def snapshot(self) -> dict[str, Any]:
        return self.frozen().to_dict()

    def close_if_idle(self) -> bool:
        """A conference nobody is in or waiting for is over (e.g. after a refused first
        join); True when this call ended it."""
        if self.ended or self.participants or self.lobby:
            return False
        self.ended = True
        self.end_reason = "empty"
        return True

    # ------------------------------------------------------------------ apply
    def apply(self, cmd: c.Command) -> list[ev.Event]:
        if self.ended:
            raise DomainError("conference.ended", "the conference has ended")
        handler = Conference._handlers.get(type(cmd))
        if handler is None:
            raise DomainError("command.unknown", f"unknown command {cmd.name!r}")
        if not isinstance(cmd, c.Join | c.Leave):
            self._authorize(cmd, cmd.required_role)
        return handler(self, cmd)

    def _issuer_role(self, cmd: c.Command) -> Role | None:
        if cmd.by is not None:
            p = self.participants.get(cmd.by)
            if p is None:
                raise DomainError("conference.not_a_participant", "only participants can do this")
            return p.role
        return cmd.by_role

    def _authorize(self, cmd: c.Command, required: Role) -> None:
        role = self._issuer_role(cmd)
        if role is None:
            raise DomainError("auth.forbidden", "not allowed")
        if not role.allows(required):
            raise DomainError("conference.moderator_only", "this is only for the moderator")

    def _self(self, cmd: c.Command) -> Participant:
        if cmd.by is None or cmd.by not in self.participants:
            raise DomainError("conference.not_a_participant", "only participants can do this")
        return self.participants[cmd.by]

    def _target(self, cmd: c.Command, target: str | None) -> Participant:
        """Oneself, or with the moderator role anyone present."""
        if target is None or target == cmd.by:
            return self._self(cmd)
        self._authorize(cmd, Role.MODERATOR)
        p = self.participants.get(target)
        if p is None:
            raise DomainError("conference.unknown_participant", "no such participant")
        return p

    # ------------------------------------------------------------------ helpers
    def _event(self, cls: type[E], audience: frozenset[str] | set[str], **kw: Any) -> E:
        return cls(room_id=self.room_id, conference_id=self.id, audience=frozenset(audience), **kw)

    def _everyone(self) -> set[str]:
        return set(self.participants)

    def _moderators(self) -> set[str]:
        return {p.id for p in self.participants.values() if p.role is Role.MODERATOR}

    def _in_join_order(self) -> list[Participant]:
        return sorted(self.participants.values(), key=lambda p: p.joined_seq)

    def _remove(
        self, pid: str, reason: str, by: str | None, *, remember: bool, end_if_empty: bool = True
    ) -> list[ev.Event]:
        p = self.participants.pop(pid)
        if remember:
            self._remembered[p.identity] = p.role
        else:
            self._remembered.pop(p.identity, None)
        events: list[ev.Event] = [
            self._event(
                ev.ParticipantLeft,
                self._everyone() | {pid},
                participant_id=pid,
                display_name=p.display_name,
                reason=reason,
                count=len(self.participants),
                by=by,
            )
        ]
        if end_if_empty and not self.participants:
            events += self._end("empty", None)
        elif self.ends_when_one_leaves and reason != "replaced" and self.participants:
            events += self._end("call_ended", by)
        return events

    def _end(self, reason: str, by: str | None) -> list[ev.Event]:
        audience = self._everyone() | set(self.lobby)
        events: list[ev.Event] = []
        if self.recording:
            self.recording = False
            events.append(self._event(ev.RecordingChanged, set(), recording=False, by=by))
        self.participants.clear()
        self.lobby.clear()
        self._remembered.clear()
        self.ended = True
        self.end_reason = reason
        events.append(self._event(ev.ConferenceEnded, audience, reason=reason, by=by))
        return events

    def _enter(self, entry: LobbyEntry | c.Join, role: Role, rejoined: bool) -> list[ev.Event]:
        if len(self.participants) >= self.capacity:
            raise DomainError("room.full", "the conference is full")
        pid = entry.participant_id if isinstance(entry, c.Join) else entry.id
        name = entry.display_name
        muted = self.mute_on_entry or (self.all_muted and role is Role.PARTICIPANT)
        self._seq += 1
        p = Participant(
            id=pid,
            display_name=name,
            role=role,
            channel=entry.channel,
            identity=entry.identity,
            joined_seq=self._seq,
            account_id=entry.account_id,
            muted=muted,
            muted_by_host=muted,
        )
        self._remembered.pop(p.identity, None)
        listeners = {q.id for q in self.participants.values() if q.announcements}
        self.participants[pid] = p
        events: list[ev.Event] = []
        if not self.started:
            self.started = True
            events.append(self._event(ev.ConferenceStarted, {pid}))
        events.append(
            self._event(
                ev.ParticipantJoined,
                self._everyone(),
                participant=p.view(),
                count=len(self.participants),
                rejoined=rejoined,
                announce_to=frozenset(listeners),
            )
        )
        return events

    # ------------------------------------------------------------------ handlers
    def _join(self, cmd: c.Join) -> list[ev.Event]:
        name = clean_display_name(cmd.display_name)
        cmd = c.Join(
            participant_id=cmd.participant_id,
            display_name=name,
            role=cmd.role,
            channel=cmd.channel,
            identity=cmd.identity,
            account_id=cmd.account_id,
            returning=cmd.returning,
        )
        if cmd.participant_id in self.participants or cmd.participant_id in self.lobby:
            raise DomainError("conference.duplicate_participant", "already in the conference")
        if not any(p.identity == cmd.identity for p in self.participants.values()):
            # Refuse a full room before touching the lobby: a refused join changes nothing.
            known = self._remembered.get(cmd.identity) is not None or cmd.returning
            enters = not self.locked or cmd.role is Role.MODERATOR or known
            if enters and len(self.participants) >= self.capacity:
                raise DomainError("room.full", "the conference is full")
        events: list[ev.Event] = []
        # A reload or a second device with the same identity replaces the old leg.
        for old in [p for p in self.participants.values() if p.identity == cmd.identity]:
            events += self._remove(old.id, "replaced", None, remember=True, end_if_empty=False)
        for old_entry in [e for e in self.lobby.values() if e.identity == cmd.identity]:
            del self.lobby[old_entry.id]
            events.append(self._lobby_left(old_entry, "left", None))
        remembered = self._remembered.get(cmd.identity)
        rejoined = remembered is not None or cmd.returning
        role = Role.MODERATOR if Role.MODERATOR in (cmd.role, remembered) else Role.PARTICIPANT
        if self.locked and role is not Role.MODERATOR and not rejoined:
            entry = LobbyEntry(
                id=cmd.participant_id,
                display_name=name,
                role=role,
                channel=cmd.channel,
                identity=cmd.identity,
                account_id=cmd.account_id,
            )
            self.lobby[entry.id] = entry
            events.append(
                self._event(
                    ev.Knocked,
                    self._moderators() | {entry.id},
                    lobby_id=entry.id,
                    display_name=name,
                    channel=cmd.channel,
                )
            )
            return events
        return events + self._enter(cmd, role, rejoined)

    def _lobby_left(self, entry: LobbyEntry, reason: str, by: str | None) -> ev.LobbyLeft:
        return self._event(
            ev.LobbyLeft,
            self._moderators() | {entry.id},
            lobby_id=entry.id,
            display_name=entry.display_name,
            reason=reason,
            by=by,
            code="room.full" if reason == "full" else None,
        )

    def _leave(self, cmd: c.Leave) -> list[ev.Event]:
        if cmd.reason not in ("left", "dropped"):
            raise DomainError("command.invalid", "a leave reason is 'left' or 'dropped'")
        if cmd.by in self.lobby:
            entry = self.lobby.pop(cmd.by)
            return [self._lobby_left(entry, "left", None), *self._end_if_idle()]
        p = self._self(cmd)
        return self._remove(p.id, cmd.reason, None, remember=True)

    def _set_mute(
        self, p: Participant, muted: bool, by: str | None, *, tell: set[str] | None = None
    ) -> list[ev.Event]:
        """``tell``: who hears of it (everyone, unless a mute-all tells all at once)."""
        if p.muted == muted:
            return []
        p.muted = muted
        p.muted_by_host = muted and by != p.id
        audience = self._everyone() if tell is None else tell
        return [
            self._event(
                ev.MuteChanged,
                audience,
                participant_id=p.id,
                muted=muted,
                by=by,
                of_all=tell is not None,
            )
        ]

    def _self_unmute(self, p: Participant) -> list[ev.Event]:
        if p.muted_by_host and not self.allow_self_unmute and p.role is not Role.MODERATOR:
            raise DomainError("conference.unmute_not_allowed", "the moderator has muted you")
        return self._set_mute(p, False, p.id)

    def _toggle_mute(self, cmd: c.ToggleMute) -> list[ev.Event]:
        p = self._self(cmd)
        return self._self_unmute(p) if p.muted else self._set_mute(p, True, p.id)

    def _mute(self, cmd: c.Mute) -> list[ev.Event]:
        p = self._target(cmd, cmd.target)
        return self._set_mute(p, True, cmd.by)

    def _unmute(self, cmd: c.Unmute) -> list[ev.Event]:
        p = self._target(cmd, cmd.target)
        if p.id == cmd.by:
            return self._self_unmute(p)
        return self._set_mute(p, False, cmd.by)

    def _mute_all(self, cmd: c.MuteAll) -> list[ev.Event]:
        self.all_muted = True
        events: list[ev.Event] = []
        for p in self._in_join_order():
            if p.role is Role.PARTICIPANT and p.id != cmd.by:
                events += self._set_mute(p, True, cmd.by, tell={p.id})
        return self._all_muted(events, True, cmd.by)

    def _all_muted(self, events: list[ev.Event], muted: bool, by: str | None) -> list[ev.Event]:
        """One event tells everyone whose mute the mute-all changed (see AllMuteChanged)."""
        changed = tuple(e.participant_id for e in events if isinstance(e, ev.MuteChanged))
        everyone = self._everyone()
        events.append(
            self._event(ev.AllMuteChanged, everyone, muted=muted, by=by, participant_ids=changed)
        )
        return events

    def _unmute_all(self, cmd: c.UnmuteAll) -> list[ev.Event]:
        self.all_muted = False
        events: list[ev.Event] = []
        for p in self._in_join_order():
            if p.muted_by_host:
                events += self._set_mute(p, False, cmd.by, tell={p.id})
        return self._all_muted(events, False, cmd.by)

    def _toggle_announcements(self, cmd: c.ToggleAnnouncements) -> list[ev.Event]:
        p = self._self(cmd)
        p.announcements = not p.announcements
        return [
            self._event(
                ev.AnnouncementsChanged, {p.id}, participant_id=p.id, enabled=p.announcements
            )
        ]

    def _list(self, cmd: c.ListParticipants) -> list[ev.Event]:
        p = self._self(cmd)
        views = tuple(q.view() for q in self._in_join_order())
        return [self._event(ev.ParticipantsListed, {p.id}, participants=views)]

    def _menu(self, cmd: c.Menu) -> list[ev.Event]:
        p = self._self(cmd)
        rows = tuple((k.keys or "", k.command.name, k.label) for k in controls_for(p.role))
        return [self._event(ev.MenuListed, {p.id}, controls=rows)]

    def _volume(self, cmd: c.Command, step: int) -> list[ev.Event]:
        p = self._self(cmd)
        level = min(VOLUME_MAX, max(VOLUME_MIN, p.volume + step))
        at_limit = level == p.volume
        p.volume = level
        return [
            self._event(
                ev.VolumeChanged, {p.id}, participant_id=p.id, level=level, at_limit=at_limit
            )
        ]

    def _set_hand(self, p: Participant, raised: bool, by: str | None) -> list[ev.Event]:
        if p.hand_raised == raised:
            return []
        p.hand_raised = raised
        return [
            self._event(ev.HandChanged, self._everyone(), participant_id=p.id, raised=raised, by=by)
        ]

    def _raise_hand(self, cmd: c.RaiseHand) -> list[ev.Event]:
        return self._set_hand(self._self(cmd), True, cmd.by)

    def _lower_hand(self, cmd: c.LowerHand) -> list[ev.Event]:
        return self._set_hand(self._target(cmd, cmd.target), False, cmd.by)

    def _invite(self, cmd: c.Invite) -> list[ev.Event]:
        if not _DIAL_NUMBER.fullmatch(cmd.number):
            raise DomainError("invite.invalid_number", "enter a phone number of 2 to 20 digits")
        audience = {cmd.by} if cmd.by else set()
        return [self._event(ev.InviteRequested, audience, number=cmd.number, by=cmd.by)]

    def _end_all_but_me(self, cmd: c.EndForAllButMe) -> list[ev.Event]:
        me = self._self(cmd)
        events: list[ev.Event] = []
        for p in self._in_join_order():
            if self.ended:  # a call room ends with the first one out
                break
            if p.id != me.id:
                events += self._remove(p.id, "removed_by_host", me.id, remember=False)
        return events

    def _kick_last(self, cmd: c.KickLast) -> list[ev.Event]:
        candidates = [
            p for p in self._in_join_order() if p.role is Role.PARTICIPANT and p.id != cmd.by
        ]
        if not candidates:
            raise DomainError("conference.nobody_to_remove", "there is no participant to remove")
        return self._remove(candidates[-1].id, "kicked", cmd.by, remember=False)

    def _kick(self, cmd: c.Kick) -> list[ev.Event]:
        if cmd.target == cmd.by:
            raise DomainError("conference.cannot_kick_self", "use leave to go yourself")
        if cmd.target not in self.participants:
            raise DomainError("conference.unknown_participant", "no such participant")
        return self._remove(cmd.target, "kicked", cmd.by, remember=False)

    def _lock(self, cmd: c.Lock) -> list[ev.Event]:
        if self.locked:
            return []
        self.locked = True
        return [self._event(ev.LockChanged, self._everyone(), locked=True, by=cmd.by)]

    def _unlock(self, cmd: c.Unlock) -> list[ev.Event]:
        if not self.locked:
            return []
        self.locked = False
        events: list[ev.Event] = [
            self._event(ev.LockChanged, self._everyone() | set(self.lobby), locked=False, by=cmd.by)
        ]
        for entry in list(self.lobby.values()):
            if len(self.participants) < self.capacity:
                events += self._admit_entry(entry, cmd.by)
            else:
                del self.lobby[entry.id]
                events.append(self._lobby_left(entry, "full", cmd.by))
        return events

    def _admit_entry(self, entry: LobbyEntry, by: str | None) -> list[ev.Event]:
        events = self._enter(entry, entry.role, rejoined=False)
        del self.lobby[entry.id]
        return [self._lobby_left(entry, "admitted", by), *events]

    def _lobby_entry(self, target: str) -> LobbyEntry:
        entry = self.lobby.get(target)
        if entry is None:
            raise DomainError("conference.unknown_knocker", "nobody with that id is waiting")
        return entry

    def _admit(self, cmd: c.Admit) -> list[ev.Event]:
        return self._admit_entry(self._lobby_entry(cmd.target), cmd.by)

    def _admit_next(self, cmd: c.AdmitNext) -> list[ev.Event]:
        """The lobby keeps knocking order (a dict keeps insertion order; a knocker who
        knocks again goes to the back), so the first entry has waited longest."""
        entry = next(iter(self.lobby.values()), None)
        if entry is None:
            raise DomainError("conference.nobody_waiting", "nobody is waiting to be admitted")
        return self._admit_entry(entry, cmd.by)

    def _deny(self, cmd: c.Deny) -> list[ev.Event]:
        entry = self._lobby_entry(cmd.target)
        del self.lobby[entry.id]
        return [self._lobby_left(entry, "denied", cmd.by), *self._end_if_idle()]

    def _end_if_idle(self) -> list[ev.Event]:
        """Nobody inside and nobody waiting: the conference is over."""
        if not self.participants and not self.lobby:
            return self._end("empty", None)
        return []

    def _record_start(self, cmd: c.RecordStart) -> list[ev.Event]:
        if self.recording:
            raise DomainError("recording.already_running", "the conference is being recorded")
        self.recording = True
        return [self._event(ev.RecordingChanged, self._everyone(), recording=True, by=cmd.by)]

    def _record_stop(self, cmd: c.RecordStop) -> list[ev.Event]:
        if not self.recording:
            raise DomainError("recording.not_running", "the conference is not being recorded")
        self.recording = False
        return [self._event(ev.RecordingChanged, self._everyone(), recording=False, by=cmd.by)]

    def _reset(self, cmd: c.Reset) -> list[ev.Event]:
        require_confirmation(cmd)
        events = self._end("reset", cmd.by)
        events.append(self._event(ev.RoomResetRequested, set(), by=cmd.by))
        return events

    #: Command type -> its handler: a table of the class (house rule 3), not of each
    #: conference, whose bound methods would make every conference a reference cycle.
    _handlers: ClassVar[dict[type[c.Command], Callable[[Any, Any], list[ev.Event]]]] = {
        c.Join: _join,
        c.Leave: _leave,
        c.ToggleMute: _toggle_mute,
        c.Mute: _mute,
        c.Unmute: _unmute,
        c.ToggleAnnouncements: _toggle_announcements,
        c.ListParticipants: _list,
        c.Menu: _menu,
        c.VolumeDown: lambda self, cmd: self._volume(cmd, -1),
        c.VolumeUp: lambda self, cmd: self._volume(cmd, +1),
        c.RaiseHand: _raise_hand,
        c.LowerHand: _lower_hand,
        c.Invite: _invite,
        c.EndForAll: lambda self, cmd: self._end(cmd.reason, cmd.by),
        c.EndForAllButMe: _end_all_but_me,
        c.KickLast: _kick_last,
        c.Kick: _kick,
        c.Lock: _lock,
        c.Unlock: _unlock,
        c.MuteAll: _mute_all,
        c.UnmuteAll: _unmute_all,
        c.Admit: _admit,
        c.Deny: _deny,
        c.AdmitNext: _admit_next,
        c.Reset: _reset,
        c.RecordStart: _record_start,
        c.RecordStop: _record_stop,
        c.CloseWindow: lambda self, cmd: self._end("window_closed", None),
    }
