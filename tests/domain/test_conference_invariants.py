"""Random command sequences against the conference state machine, checking after every
step the promises users rely on (hypothesis, stateful).

- never more participants than the capacity;
- a lobby only while the room is locked;
- a removed participant hears nothing more (appears in no later event's audience);
- after "end for everyone" nobody is left and every further command is refused;
- a refused command changes nothing;
- every event goes only to people who are (or just were) in the room or its lobby.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from confero.domain import commands as c
from confero.domain import events as ev
from confero.domain.conference import Conference
from confero.domain.errors import DomainError
from confero.domain.roles import Role

CAPACITY = 4
IDENTITIES = ["ann", "bob", "cid", "dan", "eve", "fay"]

ROLES = st.sampled_from([Role.PARTICIPANT, Role.PARTICIPANT, Role.MODERATOR])
SIMPLE = st.sampled_from(
    [
        c.ToggleMute,
        c.ToggleAnnouncements,
        c.ListParticipants,
        c.Menu,
        c.VolumeDown,
        c.VolumeUp,
        c.RaiseHand,
        c.LowerHand,
        c.EndForAllButMe,
        c.KickLast,
        c.Lock,
        c.Unlock,
        c.MuteAll,
        c.UnmuteAll,
        c.EndForAll,
    ]
)
TARGETED = st.sampled_from([c.Mute, c.Unmute, c.LowerHand, c.Kick])
LOBBY = st.sampled_from([c.Admit, c.Deny])


class ConferenceMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.conf = Conference("conf", "room", capacity=CAPACITY, allow_self_unmute=False)
        #: participant (or lobby) id -> index of the event that removed it
        self.gone: set[str] = set()
        self.events: list[ev.Event] = []
        self._next_id = 0

    # ------------------------------------------------------------------ helpers
    def _known(self) -> list[str]:
        return sorted(self.conf.participants) + sorted(self.conf.lobby) + sorted(self.gone)

    def _apply(self, cmd: c.Command) -> None:
        before = self.conf.snapshot()
        members_before = set(self.conf.participants) | set(self.conf.lobby)
        try:
            new = self.conf.apply(cmd)
        except DomainError:
            assert self.conf.snapshot() == before, f"refused {cmd} changed the state"
            return
        members_after = set(self.conf.participants) | set(self.conf.lobby)
        removed_now: set[str] = set()
        for e in new:
            if isinstance(e, ev.ParticipantLeft):
                removed_now.add(e.participant_id)
            if isinstance(e, ev.LobbyLeft) and e.reason != "admitted":
                removed_now.add(e.lobby_id)
            if isinstance(e, ev.ConferenceEnded):
                removed_now |= members_before
        for e in new:
            stale = e.audience & self.gone
            assert not stale, f"{e.name} sent to removed {stale}"
            allowed = members_before | members_after
            assert e.audience <= allowed, f"{e.name} sent to strangers {e.audience - allowed}"
        self.gone |= removed_now - members_after
        self.events += new

    # ------------------------------------------------------------------ rules
    @precondition(lambda self: not self.conf.ended)
    @rule(
        identity=st.sampled_from(IDENTITIES),
        role=ROLES,
        channel=st.sampled_from(["phone", "browser"]),
    )
    def join(self, identity: str, role: Role, channel: str) -> None:
        self._next_id += 1
        pid = f"p{self._next_id:03d}"
        self._apply(
            c.Join(
                participant_id=pid,
                display_name=identity.title(),
                role=role,
                channel=channel,
                identity=identity,
            )
        )

    @precondition(lambda self: not self.conf.ended and bool(self._known()))
    @rule(data=st.data(), reason=st.sampled_from(["left", "dropped"]))
    def leave(self, data: st.DataObject, reason: str) -> None:
        who = data.draw(st.sampled_from(self._known()))
        self._apply(c.Leave(by=who, reason=reason))

    @precondition(lambda self: not self.conf.ended)
    @rule(data=st.data(), kind=SIMPLE, as_api=st.booleans())
    def simple(self, data: st.DataObject, kind: type[c.Command], as_api: bool) -> None:
        if as_api or not self._known():
            self._apply(kind(by_role=Role.MODERATOR))
        else:
            self._apply(kind(by=data.draw(st.sampled_from(self._known()))))

    @precondition(lambda self: not self.conf.ended and bool(self._known()))
    @rule(data=st.data(), kind=TARGETED, as_api=st.booleans())
    def targeted(self, data: st.DataObject, kind: type[c.Command], as_api: bool) -> None:
        target = data.draw(st.sampled_from(self._known()))
        by = None if as_api else data.draw(st.sampled_from(self._known()))
        role = Role.MODERATOR if as_api else None
        self._apply(kind(by=by, by_role=role, target=target))  # type: ignore[call-arg]

    @precondition(lambda self: not self.conf.ended and bool(self._known()))
    @rule(data=st.data(), kind=LOBBY)
    def lobby(self, data: st.DataObject, kind: type[c.Command]) -> None:
        target = data.draw(st.sampled_from(self._known()))
        self._apply(kind(by_role=Role.MODERATOR, target=target))  # type: ignore[call-arg]

    @precondition(lambda self: self.conf.ended)
    @rule(kind=SIMPLE)
    def after_the_end_everything_is_refused(self, kind: type[c.Command]) -> None:
        before = self.conf.snapshot()
        try:
            self.conf.apply(kind(by_role=Role.MODERATOR))
        except DomainError as exc:
            assert exc.code == "conference.ended"
        else:
            raise AssertionError("a command was accepted after the end")
        assert self.conf.snapshot() == before

    # ------------------------------------------------------------------ invariants
    @invariant()
    def capacity_holds(self) -> None:
        assert len(self.conf.participants) <= CAPACITY

    @invariant()
    def lobby_only_while_locked(self) -> None:
        assert not self.conf.lobby or self.conf.locked

    @invariant()
    def ended_means_empty(self) -> None:
        if self.conf.ended:
            assert not self.conf.participants and not self.conf.lobby

    @invariant()
    def nobody_is_both_inside_and_waiting(self) -> None:
        assert not set(self.conf.participants) & set(self.conf.lobby)

    @invariant()
    def the_removed_are_gone(self) -> None:
        assert not self.gone & (set(self.conf.participants) | set(self.conf.lobby))

    @invariant()
    def volume_is_bounded(self) -> None:
        assert all(-4 <= p.volume <= 4 for p in self.conf.participants.values())

    @invariant()
    def mute_all_holds_for_participants(self) -> None:
        """While "mute all" is on, no participant (not moderator) can be unmuted unless a
        moderator did it explicitly for that person."""
        if not self.conf.all_muted:
            return
        for p in self.conf.participants.values():
            if p.role is Role.PARTICIPANT and not p.muted:
                unmuted_by_host = any(
                    isinstance(e, ev.MuteChanged)
                    and e.participant_id == p.id
                    and not e.muted
                    and e.by != p.id
                    for e in self.events
                )
                assert unmuted_by_host, f"{p.id} unmuted itself during mute all"


ConferenceMachine.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestConference = ConferenceMachine.TestCase


def test_end_for_all_leaves_nobody_and_locked_room_makes_them_knock() -> None:
    conf = Conference("c", "r", capacity=5)
    join = lambda pid, ident, role: conf.apply(  # noqa: E731
        c.Join(participant_id=pid, display_name=ident, role=role, channel="phone", identity=ident)
    )
    join("h", "host", Role.MODERATOR)
    join("a", "ann", Role.PARTICIPANT)
    conf.apply(c.Lock(by="h"))
    events = conf.apply(c.EndForAll(by="h"))
    assert [e.name for e in events] == ["conference_ended"]
    assert events[0].audience == {"h", "a"}
    assert not conf.participants and conf.ended

    again = Conference("c2", "r", capacity=5, locked=True)
    events = again.apply(
        c.Join(
            participant_id="a2",
            display_name="Ann",
            role=Role.PARTICIPANT,
            channel="phone",
            identity="ann",
        )
    )
    assert [e.name for e in events] == ["knocked"] and "a2" in again.lobby
