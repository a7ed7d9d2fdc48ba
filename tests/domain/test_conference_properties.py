"""Random conferences (hypothesis, stateful): joins by phone and browser, rejoins under the
same identity, drops, leaves and every other command, issued by participants, knockers,
people who are gone and API callers. After every step the promises users rely on hold:

- never more participants than the capacity; a lobby only while the room is locked;
- nobody who was removed hears anything more (participant ids are never reused here);
- every event goes only to people who are inside, waiting, or were just let go by it;
- an ended conference holds nobody, and refuses every command;
- a refused command changes nothing;
- a mute only goes away through an unmute (and is always told to the room);
- a dropped or left identity comes back with its role, a removed one does not (F-EN7).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.conference import Conference
from confero.domain.errors import DomainError
from confero.domain.roles import Role

M, P = Role.MODERATOR, Role.PARTICIPANT
IDENTITIES = ["acct:host", "acct:ann", "tel:+4822", "tel:+4833", "tok:x", "tok:y"]
UNMUTING = (c.ToggleMute, c.Unmute, c.UnmuteAll)
REMOVED_REASONS = {"kicked", "removed_by_host", "left", "dropped", "replaced"}
ENDING = (c.EndForAll, c.Reset, c.CloseWindow)


@dataclass(frozen=True)
class Issuer:
    """Who sends a command: one of the people (by index into a group) or an API caller."""

    #: moderator | participant (anyone inside) | lobby | gone | api_moderator |
    #: api_participant | anonymous
    kind: str
    index: int = 0


def _issuers(*, moderator: int, participant: int) -> st.SearchStrategy[Issuer]:
    """Issuers weighted toward those who may succeed, with every wrong one in the mix."""
    person = st.integers(0, 20)
    wrong = st.one_of(
        st.builds(Issuer, st.just("lobby"), person),
        st.builds(Issuer, st.just("gone"), person),
        st.just(Issuer("api_participant")),
        st.just(Issuer("anonymous")),
    )
    return st.one_of(
        *[st.builds(Issuer, st.just("moderator"), person)] * moderator,
        *[st.builds(Issuer, st.just("participant"), person)] * participant,
        st.just(Issuer("api_moderator")),
        wrong,
    )


ISSUERS = _issuers(moderator=2, participant=2)
MOD_ISSUERS = _issuers(moderator=4, participant=1)
SELF_ISSUERS = _issuers(moderator=1, participant=5)
#: who a targeted command aims at: someone inside, someone waiting, someone gone, nobody
TARGETS = st.tuples(
    st.sampled_from(["participant", "participant", "lobby", "lobby", "gone", "none"]),
    st.integers(0, 20),
)
#: what anyone inside may do to themselves
OWN = st.sampled_from(
    [
        c.ToggleMute,
        c.ToggleMute,
        c.Mute,
        c.Unmute,
        c.ToggleAnnouncements,
        c.ListParticipants,
        c.Menu,
        c.VolumeDown,
        c.VolumeUp,
        c.RaiseHand,
        c.LowerHand,
    ]
)
#: what the moderator does to the room
ROOM = st.sampled_from(
    [c.EndForAllButMe, c.KickLast, c.Lock, c.Unlock, c.MuteAll, c.UnmuteAll, c.Lock]
)
TARGETED = st.sampled_from(["mute", "unmute", "lower_hand", "kick", "admit", "deny"])
NUMBERS = st.sampled_from(["223500908", "+48223500908", "1", "12ab", "123\n", ""])


def _targeted(kind: str, aim: str, issuer: dict[str, Any]) -> c.Command:
    """A command aimed at ``aim`` ("" for nobody: oneself where that means something)."""
    if kind == "mute":
        return c.Mute(target=aim or None, **issuer)
    if kind == "unmute":
        return c.Unmute(target=aim or None, **issuer)
    if kind == "lower_hand":
        return c.LowerHand(target=aim or None, **issuer)
    if kind == "kick":
        return c.Kick(target=aim, **issuer)
    if kind == "admit":
        return c.Admit(target=aim, **issuer)
    return c.Deny(target=aim, **issuer)


def _full_state(conf: Conference) -> dict[str, Any]:
    return copy.deepcopy(
        {
            "snapshot": conf.snapshot(),
            "participants": conf.participants,
            "lobby": conf.lobby,
            "remembered": conf._remembered,
            "started": conf.started,
            "seq": conf._seq,
        }
    )


class ConferenceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.conf = Conference("conf-0", "room", capacity=3)
        self.generation = 0
        self.counter = 0
        #: every id ever removed (participants and lobby entries); ids are never reused
        self.removed: set[str] = set()
        #: model of F-EN7: identity -> role it gets back on a rejoin
        self.remembered: dict[str, Role] = {}
        self.ended_by_host = False
        self.settings: dict[str, Any] = {"capacity": 3}
        #: participant id -> identity and role, to follow F-EN7 through removals
        self._identities: dict[str, str] = {}
        self._roles: dict[str, Role] = {}
        #: every id ever used -> its identity
        self.identity_of: dict[str, str] = {}
        #: participants muted by someone else, as the events tell it
        self.host_muted: set[str] = set()

    # ------------------------------------------------------------------ setup
    @initialize(
        capacity=st.integers(1, 5),
        locked=st.booleans(),
        allow_self_unmute=st.booleans(),
        mute_on_entry=st.booleans(),
    )
    def setup(
        self, capacity: int, locked: bool, allow_self_unmute: bool, mute_on_entry: bool
    ) -> None:
        self.settings = {
            "capacity": capacity,
            "allow_self_unmute": allow_self_unmute,
            "mute_on_entry": mute_on_entry,
        }
        self.conf = Conference("conf-0", "room", locked=locked, **self.settings)

    # ------------------------------------------------------------------ choosing people
    def _pick(self, group: str, index: int) -> str | None:
        ids: list[str]
        if group == "participant":
            ids = sorted(self.conf.participants)
        elif group == "moderator":
            ids = sorted(p.id for p in self.conf.participants.values() if p.role is M)
        elif group == "lobby":
            ids = sorted(self.conf.lobby)
        elif group == "gone":
            ids = sorted(self.removed)
        else:
            return None
        return ids[index % len(ids)] if ids else None

    def _issuer(self, who: Issuer) -> dict[str, Any]:
        if who.kind == "api_moderator":
            return {"by": None, "by_role": M}
        if who.kind == "api_participant":
            return {"by": None, "by_role": P}
        if who.kind == "anonymous":
            return {"by": None, "by_role": None}
        pid = self._pick(who.kind, who.index) or self._pick("participant", who.index)
        return {"by": pid, "by_role": None} if pid else {"by": None, "by_role": M}

    # ------------------------------------------------------------------ the step
    def step(self, cmd: c.Command) -> None:
        conf = self.conf
        was_ended = conf.ended
        before = _full_state(conf)
        inside_before = set(conf.participants)
        waiting_before = set(conf.lobby)
        muted_before = {pid: p.muted for pid, p in conf.participants.items()}
        try:
            events = conf.apply(cmd)
        except DomainError as exc:
            assert _full_state(conf) == before, f"refused {cmd!r} ({exc.code}) changed state"
            if was_ended:
                assert exc.code == "conference.ended"
            return
        assert not was_ended, f"{cmd!r} accepted after the end"
        inside_after = set(conf.participants)
        waiting_after = set(conf.lobby)
        present = inside_before | waiting_before | inside_after | waiting_after

        # --- audiences: only people involved, nobody removed earlier, nobody after removal
        gone_in_step: set[str] = set()
        for event in events:
            assert event.audience <= present, (event, present)
            assert not event.audience & self.removed, (event, self.removed)
            assert not event.audience & gone_in_step, (event, gone_in_step)
            assert event.room_id == "room" and event.conference_id == conf.id
            if isinstance(event, ev.ParticipantLeft):
                assert event.reason in REMOVED_REASONS
                assert event.participant_id in event.audience
                gone_in_step.add(event.participant_id)
            elif isinstance(event, ev.LobbyLeft):
                assert event.lobby_id in event.audience
                if event.reason != "admitted":
                    gone_in_step.add(event.lobby_id)
            elif isinstance(event, ev.ConferenceEnded):
                # everyone still inside or waiting is told, then nobody is left
                gone_in_step |= set(event.audience)
            elif isinstance(event, ev.ParticipantJoined):
                assert event.participant.id in event.audience
                assert event.participant.id not in event.announce_to
                assert event.announce_to <= event.audience
                assert event.count == len(inside_after) or isinstance(cmd, c.Unlock)
            elif isinstance(event, ev.Knocked):
                assert event.lobby_id in waiting_after or event.lobby_id in inside_after
            self._follow_host_mutes(event)

        # --- who left for good, and the F-EN7 memory model
        left_now = (inside_before | waiting_before) - (inside_after | waiting_after)
        assert left_now <= gone_in_step | {
            e.participant_id for e in events if isinstance(e, ev.ParticipantLeft)
        }
        self.removed |= left_now
        for event in events:
            if isinstance(event, ev.ParticipantLeft):
                identity = self._identities.pop(event.participant_id)
                if event.reason in ("left", "dropped", "replaced"):
                    self.remembered[identity] = self._roles[event.participant_id]
                else:
                    self.remembered.pop(identity, None)
        if conf.ended:
            self.remembered.clear()
        for pid, p in conf.participants.items():
            self._identities[pid] = p.identity
            self._roles[pid] = p.role
            self.remembered.pop(p.identity, None)  # entering uses up the memory

        # --- the end
        if any(isinstance(e, ev.ConferenceEnded) for e in events):
            assert conf.ended
            ended = next(e for e in events if isinstance(e, ev.ConferenceEnded))
            if isinstance(cmd, ENDING):
                assert ended.audience == inside_before | waiting_before
        if isinstance(cmd, c.EndForAll):
            self.ended_by_host = True
            assert conf.ended and conf.end_reason == "ended_by_host"
        if conf.ended:
            assert not conf.participants and not conf.lobby

        # --- mutes go away only through an unmute, and every change is told
        changes = {e.participant_id: e.muted for e in events if isinstance(e, ev.MuteChanged)}
        for pid in inside_before & inside_after:
            now_muted = conf.participants[pid].muted
            if now_muted != muted_before[pid]:
                assert changes.get(pid) == now_muted, (cmd, pid)
                if not now_muted:
                    assert isinstance(cmd, UNMUTING), cmd

    def _follow_host_mutes(self, event: ev.Event) -> None:
        """Who is muted by someone else (moderator, *11, mute on entry), and the rule that
        such a participant cannot unmute themselves when the room forbids it."""
        if isinstance(event, ev.ParticipantJoined):
            if event.participant.muted:
                self.host_muted.add(event.participant.id)
        elif isinstance(event, ev.MuteChanged):
            pid = event.participant_id
            if event.muted and event.by != pid:
                self.host_muted.add(pid)
            elif not event.muted and event.by == pid and pid in self.host_muted:
                role = self.conf.participants[pid].role
                assert self.settings["allow_self_unmute"] or role is M, "self-unmute refused"
                self.host_muted.discard(pid)
            else:
                self.host_muted.discard(pid)
        elif isinstance(event, ev.ParticipantLeft):
            self.host_muted.discard(event.participant_id)

    # ------------------------------------------------------------------ rules
    @precondition(lambda self: not self.conf.ended)
    @rule(
        identity=st.sampled_from(IDENTITIES),
        role=st.sampled_from([P, P, M]),
        channel=st.sampled_from(["phone", "browser"]),
        name=st.sampled_from(["Ann", "  Bob  Smith ", "Cy", "Dee", "Eve", "Fay", "", "x" * 81]),
    )
    def join(self, identity: str, role: Role, channel: str, name: str) -> None:
        self.counter += 1
        pid = f"g{self.generation}-p{self.counter}"
        conf = self.conf
        all_muted = conf.all_muted
        old_leg = any(p.identity == identity for p in conf.participants.values())
        remembered = self.remembered.get(identity)
        if old_leg:
            remembered = next(p.role for p in conf.participants.values() if p.identity == identity)
        cmd = c.Join(
            participant_id=pid, display_name=name, role=role, channel=channel, identity=identity
        )
        self.identity_of[pid] = identity
        self.step(cmd)
        if pid in conf.participants:
            expected = M if M in (role, remembered) else P
            assert conf.participants[pid].role is expected
            if conf.locked and expected is P:
                assert remembered is not None, "a newcomer skipped the lobby"
            if expected is P and (all_muted or self.settings["mute_on_entry"]):
                assert conf.participants[pid].muted, "mute all covers newcomers"
        elif pid in conf.lobby:
            assert conf.locked and role is P and remembered is None

    @precondition(lambda self: not self.conf.ended)
    @rule(
        group=st.sampled_from(["participant", "lobby", "gone", "gone"]),
        index=st.integers(0, 20),
        role=st.sampled_from([P, P, M]),
        channel=st.sampled_from(["phone", "browser"]),
    )
    def rejoin_same_identity(self, group: str, index: int, role: Role, channel: str) -> None:
        """A reload, a second device, a drop and a call back, a knocker calling back with
        the admin PIN, or someone removed trying again."""
        pid = self._pick(group, index)
        if pid is not None:
            self.join(self.identity_of[pid], role, channel, "Again")

    @precondition(
        lambda self: not self.conf.ended and bool(self.conf.participants or self.conf.lobby)
    )
    @rule(
        who=st.integers(0, 20),
        group=st.sampled_from(["participant", "participant", "lobby", "gone"]),
        reason=st.sampled_from(["left", "dropped", "dropped", "kicked"]),
    )
    def leave(self, who: int, group: str, reason: str) -> None:
        pid = self._pick(group, who) or self._pick("participant", who) or self._pick("lobby", who)
        self.step(c.Leave(by=pid, reason=reason))

    @precondition(lambda self: not self.conf.ended and bool(self.conf.participants))
    @rule(cls=OWN, who=SELF_ISSUERS)
    def own(self, cls: type[c.Command], who: Issuer) -> None:
        self.step(cls(**self._issuer(who)))

    @precondition(lambda self: not self.conf.ended and bool(self.conf.participants))
    @rule(cls=ROOM, who=MOD_ISSUERS)
    def room(self, cls: type[c.Command], who: Issuer) -> None:
        self.step(cls(**self._issuer(who)))

    @precondition(
        lambda self: not self.conf.ended and bool(self.conf.participants or self.conf.lobby)
    )
    @rule(kind=TARGETED, who=MOD_ISSUERS, aim_at=TARGETS)
    def targeted(self, kind: str, who: Issuer, aim_at: tuple[str, int]) -> None:
        aim = self._pick(*aim_at) or ""
        self.step(_targeted(kind, aim, self._issuer(who)))

    @precondition(lambda self: not self.conf.ended and bool(self.conf.participants))
    @rule(who=MOD_ISSUERS, number=NUMBERS)
    def invite(self, who: Issuer, number: str) -> None:
        self.step(c.Invite(number=number, **self._issuer(who)))

    @precondition(lambda self: not self.conf.ended and bool(self.conf.participants))
    @rule(
        who=ISSUERS,
        kind=st.sampled_from(["end", "reset", "reset_unconfirmed", "window"]),
        now=st.integers(0, 3),
    )
    def ending(self, who: Issuer, kind: str, now: int) -> None:
        """Ending commands, drawn less often than the rest so conferences run a while."""
        if now:
            return
        issuer = self._issuer(who)
        if kind == "end":
            self.step(c.EndForAll(**issuer))
        elif kind == "reset":
            self.step(c.Reset(confirm=True, **issuer))
        elif kind == "reset_unconfirmed":
            self.step(c.Reset(**issuer))
        else:
            self.step(c.CloseWindow(**issuer))

    # ------------------------------------------------------------------ short stories
    # Two-step scenarios users actually live through, drawn often enough to matter.
    @precondition(lambda self: not self.conf.ended and bool(self.conf.participants))
    @rule(
        index=st.integers(0, 20),
        who=MOD_ISSUERS,
        how=st.sampled_from(["toggle", "unmute", "unmute_self"]),
        all_at_once=st.booleans(),
    )
    def muted_by_moderator_tries_to_unmute(
        self, index: int, who: Issuer, how: str, all_at_once: bool
    ) -> None:
        pid = self._pick("participant", index)
        issuer = self._issuer(who)
        self.step(c.MuteAll(**issuer) if all_at_once else c.Mute(target=pid, **issuer))
        if pid not in self.conf.participants:
            return
        if how == "toggle":
            self.step(c.ToggleMute(by=pid))
        elif how == "unmute":
            self.step(c.Unmute(by=pid))
        else:
            self.step(c.Unmute(by=pid, target=pid))

    @precondition(lambda self: not self.conf.ended and bool(self.conf.participants))
    @rule(
        index=st.integers(0, 20),
        who=MOD_ISSUERS,
        how=st.sampled_from(["kick", "kick_last", "all_but_me", "left", "dropped", "lock"]),
        role=st.sampled_from([P, P, M]),
    )
    def goes_and_comes_back(self, index: int, who: Issuer, how: str, role: Role) -> None:
        """Removed, or gone by themselves, and back under the same identity (F-EN7)."""
        pid = self._pick("participant", index)
        assert pid is not None
        issuer = self._issuer(who)
        if how == "kick":
            self.step(c.Kick(target=pid, **issuer))
        elif how == "kick_last":
            self.step(c.KickLast(**issuer))
        elif how == "all_but_me":
            self.step(c.EndForAllButMe(**issuer))
        elif how == "lock":
            self.step(c.Lock(**issuer))
            self.step(c.Leave(by=pid, reason="dropped"))
        else:
            self.step(c.Leave(by=pid, reason=how))
        if not self.conf.ended:
            self.join(self.identity_of[pid], role, "browser", "Back")

    @precondition(lambda self: self.conf.ended)
    @rule(
        cls=st.sampled_from([c.Join, c.Leave, c.Lock, c.ToggleMute, c.EndForAll, c.Admit]),
        who=ISSUERS,
        identity=st.sampled_from(IDENTITIES),
    )
    def after_the_end(self, cls: type[c.Command], who: Issuer, identity: str) -> None:
        """Everything is refused with ``conference.ended`` (checked in ``step``)."""
        if cls is c.Join:
            self.counter += 1
            self.step(
                c.Join(
                    participant_id=f"late-{self.counter}",
                    display_name="Late",
                    role=M,
                    channel="phone",
                    identity=identity,
                )
            )
        else:
            self.step(cls(**self._issuer(who)))
        assert self.conf.ended and not self.conf.participants

    @precondition(lambda self: self.conf.ended)
    @rule()
    def next_conference(self) -> None:
        """The room lives on: the next join starts a new conference (same settings)."""
        self.generation += 1
        # the lock belongs to the room: a locked room stays locked for the next one (F-EN2)
        self.conf = Conference(
            f"conf-{self.generation}", "room", locked=self.conf.locked, **self.settings
        )
        self.remembered.clear()
        self.ended_by_host = False

    # ------------------------------------------------------------------ invariants
    @invariant()
    def within_capacity(self) -> None:
        assert len(self.conf.participants) <= self.conf.capacity

    @invariant()
    def lobby_only_while_locked(self) -> None:
        assert not self.conf.lobby or self.conf.locked

    @invariant()
    def nobody_left_after_the_end(self) -> None:
        if self.conf.ended or self.ended_by_host:
            assert self.conf.ended
            assert not self.conf.participants and not self.conf.lobby
            assert self.conf.snapshot()["participants"] == []

    @invariant()
    def removed_ids_stay_out(self) -> None:
        assert not (set(self.conf.participants) | set(self.conf.lobby)) & self.removed

    @invariant()
    def nobody_inside_and_waiting_at_once(self) -> None:
        assert not set(self.conf.participants) & set(self.conf.lobby)
        identities = [p.identity for p in self.conf.participants.values()]
        identities += [e.identity for e in self.conf.lobby.values()]
        assert len(identities) == len(set(identities)), "one identity, one leg"


TestConferenceProperties = ConferenceMachine.TestCase
TestConferenceProperties.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
