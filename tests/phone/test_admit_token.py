"""The admit token of a call passed between nodes (issue 16, phone/admit_token.py), and
what the owner's bridge does with an INVITE carrying one: a good token joins the caller
straight into the room with its role (no voice menu), a bad one gets 403."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from confero.app.services import Services
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.phone import admit_token
from confero.phone.admit_token import AdmitRefused, AdmitVerifier, issue, read
from confero.phone.stack import PhoneStack
from confero.sip import offer_answer
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent
from tests.phone.softphone import FAST
from tests.phone.support import eventually, people

SECRET = b"a cluster secret of the test"
NOW = 1_800_000_000.0


def token(**overrides: object) -> str:
    fields: dict[str, object] = {
        "room_id": "room-1",
        "role": Role.MODERATOR,
        "caller": "+4930123",
        "node_id": "b",
        "now": NOW,
    }
    fields.update(overrides)
    return issue(SECRET, **fields)  # type: ignore[arg-type]


def test_a_token_carries_what_the_first_node_vouches_for() -> None:
    claims = read(SECRET, token(), now=NOW + 1)
    assert (claims.room_id, claims.role, claims.caller, claims.node_id) == (
        "room-1",
        Role.MODERATOR,
        "+4930123",
        "b",
    )
    assert claims.expires == NOW + admit_token.LIFETIME


def test_a_token_of_another_secret_is_refused() -> None:
    with pytest.raises(AdmitRefused) as refused:
        read(b"another cluster", token(), now=NOW)
    assert refused.value.reason == "bad admit signature"


@pytest.mark.parametrize(
    ("forged", "reason"),
    [
        ("x" + token(), "bad admit signature"),  # the payload changed
        ("e30." + token().split(".")[1], "bad admit signature"),  # {} under a real signature
        (token().split(".")[0], "malformed admit token"),  # no signature
        (token() + "!!", "malformed admit token"),
        ("", "malformed admit token"),
    ],
)
def test_a_forged_token_is_refused(forged: str, reason: str) -> None:
    with pytest.raises(AdmitRefused) as refused:
        read(SECRET, forged, now=NOW)
    assert refused.value.reason == reason


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(AdmitRefused, match="expired"):
        read(SECRET, token(), now=NOW + admit_token.LIFETIME)


def test_a_token_is_good_once_and_on_its_node_only() -> None:
    now = [NOW]
    b = AdmitVerifier(SECRET, "b", clock=lambda: now[0])
    given = token()
    assert b.verify(given).caller == "+4930123"
    with pytest.raises(AdmitRefused, match="already used"):
        b.verify(given)
    with pytest.raises(AdmitRefused, match="another node"):
        AdmitVerifier(SECRET, "c", clock=lambda: now[0]).verify(token())
    now[0] += admit_token.LIFETIME + 1  # the used id is forgotten with its expiry
    b.verify(token(now=now[0]))
    assert len(b._used) == 1


# ---------------------------------------------------------------- the owner's bridge
@pytest.fixture
async def owner(phone: PhoneStack) -> PhoneStack:
    phone.bridge.cluster_secret = SECRET
    phone.bridge.admit = AdmitVerifier(SECRET, "b")
    return phone


@pytest.fixture
async def first_node() -> AsyncIterator[UserAgent]:
    ua = UserAgent("127.0.0.1", 0, timers=FAST)
    await ua.start(tcp=False)
    yield ua
    await ua.stop()


async def relayed_invite(ua: UserAgent, owner: PhoneStack, header: str | None) -> SipCall:
    offer = offer_answer.offer(
        local_ip="127.0.0.1", local_port=40_010, session_id=1, session_version=1
    )
    extra = ((admit_token.HEADER, header),) if header is not None else ()
    return await ua.call(
        f"sip:5000@127.0.0.1:{owner.ua.port}",
        Peer("UDP", ("127.0.0.1", owner.ua.port)),
        offer.to_text().encode(),
        from_user="4930123",
        extra_headers=extra,
    )


async def test_a_relayed_call_joins_with_its_role_and_no_voice_menu(
    owner: PhoneStack, first_node: UserAgent, room: Room, services: Services
) -> None:
    given = issue(SECRET, room_id=room.id, role=Role.MODERATOR, caller="+4930123", node_id="b")
    call = await relayed_invite(first_node, owner, given)
    assert call.state == "confirmed"
    # no PIN typed, no name recorded: in the room within a moment, as the token says
    await eventually(lambda: len(people(services, room)) == 1, 3)
    (person,) = people(services, room)
    assert person["role"] == "moderator"
    assert "+4930123" in str(person["display_name"])
    call.hangup()
    await eventually(lambda: len(people(services, room)) == 0, 5)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("forged", "bad admit signature"),
        ("expired", "expired admit token"),
        ("replayed", "admit token already used"),
        ("one process", "not a cluster node"),
    ],
)
async def test_a_bad_token_is_refused_with_403_before_any_menu(
    owner: PhoneStack,
    first_node: UserAgent,
    room: Room,
    services: Services,
    kind: str,
    reason: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    given = issue(SECRET, room_id=room.id, role=Role.MODERATOR, caller="1", node_id="b")
    if kind == "forged":
        given = issue(b"guess", room_id=room.id, role=Role.MODERATOR, caller="1", node_id="b")
    elif kind == "expired":
        made = time.time() - admit_token.LIFETIME - 1
        given = issue(
            SECRET, room_id=room.id, role=Role.MODERATOR, caller="1", node_id="b", now=made
        )
    elif kind == "replayed":
        first = await relayed_invite(first_node, owner, given)
        first.hangup()
    else:
        owner.bridge.admit = None  # no cluster: nobody vouches for anyone
    await eventually(lambda: owner.bridge.tasks == 0, 5)
    caplog.clear()
    with caplog.at_level("INFO", logger="confero.phone.bridge"):
        call = await relayed_invite(first_node, owner, given)
    assert (call.state, call.end_reason) == ("ended", "failed:403")
    assert f"refused: {reason}" in caplog.text
    assert owner.bridge.tasks == 0, "no call task: the voice menu never started"
    assert people(services, room) == []
