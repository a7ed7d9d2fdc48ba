"""Dial-out through a real trunk that wants digest authentication (issue 13, F-PH1/F-WB6):
Kamailio from Debian registers us and challenges our INVITE (MD5 and SHA-256, RFC 8760),
then relays it to a sipp UAS, the callee, who hears "you are invited, press 1", presses 1
(RFC 2833) and is in the conference. The trunk settings are the user's:
``CONFERO_SIP_TRUNK``, ``_USER``, ``_PASSWORD``, ``_REGISTER``."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

import httpx
import pytest
from pydantic import SecretStr

from confero.app.services import Services
from confero.config import Settings
from confero.domain import events as ev
from confero.domain.rooms import Room
from confero.media.rtp import RtpPacket
from confero.media.tone import rms
from confero.phone.stack import PhoneStack
from tests.e2e import scenarios
from tests.e2e.kamailio import REALM, Kamailio
from tests.e2e.pcap import Stream, decode_audio
from tests.e2e.sipp import RtpTap, Sipp, free_port
from tests.phone.support import eventually, people
from tests.web.support import bearer_headers

USER = "confero-trunk"
PASSWORD = "s3cret-trunk"
NUMBER = "0612345678"


@pytest.fixture
def callee_port() -> int:
    return free_port()


@pytest.fixture
def password() -> str:
    return PASSWORD


@pytest.fixture
def algorithm() -> str:
    return "MD5"


@pytest.fixture
def transport() -> str:
    return "udp"


@pytest.fixture
async def kamailio(algorithm: str, callee_port: int) -> AsyncIterator[Kamailio]:
    trunk = Kamailio(
        user=USER, password=PASSWORD, algorithm=algorithm, callee=("127.0.0.1", callee_port)
    )
    async with trunk:
        yield trunk


@pytest.fixture
def settings(tmp_path: Path, kamailio: Kamailio, password: str, transport: str) -> Settings:
    """What an operator sets: the trunk, its account, and registration."""
    return Settings(
        data_dir=tmp_path / "var",
        http_port=8080,
        sip_trunk=f"127.0.0.1:{kamailio.port}",
        sip_trunk_user=USER,
        sip_trunk_password=SecretStr(password),
        sip_trunk_register=True,
        sip_trunk_transport=transport,
    )


def callee(pcap: Path, *, hangup_after: float) -> str:
    """A UAS that answers (PCMU + RFC 2833), plays ``pcap`` to us and hangs up (BYE,
    through the trunk, which relays it by its Request-URI: our Contact)."""
    to_tag = "[pid]SIPpTag01[call_number]"
    contact = "Contact: <sip:callee@[local_ip]:[local_port];transport=[transport]>"
    reply = [
        "[last_Via:]",
        "[last_From:]",
        f"[last_To:];tag={to_tag}",
        "[last_Call-ID:]",
        "[last_CSeq:]",
        "[last_Record-Route:]",
        contact,
    ]
    answer = [
        "v=0",
        "o=callee 1 1 IN IP4 [media_ip]",
        "s=-",
        "c=IN IP4 [media_ip]",
        "t=0 0",
        "m=audio [media_port] RTP/AVP 0 101",
        "a=rtpmap:0 PCMU/8000",
        "a=rtpmap:101 telephone-event/8000",
        "a=fmtp:101 0-15",
        "a=ptime:20",
        "a=sendrecv",
    ]
    bye = [
        "BYE [$contact] SIP/2.0",
        "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]",
        f"From: [$to];tag={to_tag}",
        "To: [$from]",
        "Call-ID: [call_id]",
        "CSeq: 1 BYE",
        contact,
        "Max-Forwards: 70",
        "Content-Length: 0",
    ]

    def message(lines: list[str]) -> str:
        return "<![CDATA[\n" + "\n".join(lines) + "\n\n]]>"

    ringing = message(["SIP/2.0 180 Ringing", *reply, "Content-Length: 0"])
    ok = message(
        [
            "SIP/2.0 200 OK",
            *reply,
            "Content-Type: application/sdp",
            "Content-Length: [len]",
            "",
            *answer,
        ]
    )
    return f"""<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="trunk callee">
  <recv request="INVITE">
    <action>
      <ereg regexp=".*" search_in="hdr" header="From:" assign_to="from"/>
      <ereg regexp=".*" search_in="hdr" header="To:" assign_to="to"/>
      <ereg regexp="&lt;([^&gt;]*)&gt;" search_in="hdr" header="Contact:"
            assign_to="trash,contact"/>
    </action>
  </recv>
  <send>{ringing}</send>
  <send retrans="500">{ok}</send>
  <recv request="ACK"/>
  <nop><action><exec play_pcap_audio={quoteattr(str(pcap))}/></action></nop>
  <pause milliseconds="{round(hangup_after * 1000)}"/>
  <send retrans="500">{message(bye)}</send>
  <recv response="200"/>
  <Reference variables="trash"/>
</scenario>
"""


async def invite_from_the_api(
    client: httpx.AsyncClient, room: Room, number: str
) -> tuple[str, httpx.AsyncClient]:
    """The owner joins over the REST API and asks to call ``number`` (as the page does)."""
    owner = await bearer_headers(client, "host@example.org", "long-secret")
    url = f"/api/v1/rooms/{room.id}/conference/commands"
    joined = await client.post(url, json={"command": "join"}, headers=owner)
    assert joined.status_code == 200, joined.text
    pid: str = joined.json()["participant_id"]
    asked = await client.post(
        url, json={"command": "invite", "participant_id": pid, "number": number}, headers=owner
    )
    assert asked.status_code == 200, asked.text
    return pid, client


@pytest.mark.parametrize(("algorithm", "transport"), [("MD5", "udp"), ("SHA-256", "tcp")])
async def test_registered_trunk_challenges_and_the_callee_joins(
    phone: PhoneStack,
    room: Room,
    services: Services,
    client: httpx.AsyncClient,
    kamailio: Kamailio,
    callee_port: int,
    algorithm: str,
    transport: str,
    tmp_path: Path,
) -> None:
    registration = phone.registration
    assert registration is not None, "CONFERO_SIP_TRUNK_REGISTER=true registers"
    await eventually(lambda: registration.registered, 10)
    registers = kamailio.seen("REGISTER")
    assert [r.cseq for r in registers] == [1, 2], "challenged once, then accepted"
    assert not registers[0].auth and f"algorithm={algorithm}" in registers[1].auth
    assert f'realm="{REALM}"' in registers[1].auth and PASSWORD not in kamailio.log

    # the trunk now routes a call for our account to us (its usrloc has our binding)
    async with Sipp(
        scenarios.options_ping(expect_status=200),
        kamailio.address,
        service=USER,
        workdir=tmp_path / "options",
    ) as ping:
        assert await ping.wait(20) == 0, ping.report()

    pcap = Stream().silence(1.0).digits("1").tone(440, 3).write(tmp_path / "callee.pcap")
    sipp = Sipp(
        callee(pcap, hangup_after=5),
        server=True,
        local_port=callee_port,
        workdir=tmp_path / "callee",
    )
    async with RtpTap(sipp.media_port) as tap, sipp:
        pid, _ = await invite_from_the_api(client, room, NUMBER)
        try:
            await eventually(lambda: len(people(services, room)) == 2, 20)
            phone_row = next(p for p in people(services, room) if p["channel"] == "phone")
            assert phone_row["role"] == "participant"
            assert NUMBER in str(phone_row["display_name"])
            assert await sipp.wait(30) == 0, sipp.report()
            await eventually(lambda: len(people(services, room)) == 1, 10)
        finally:
            await client.post(
                f"/api/v1/rooms/{room.id}/conference/commands",
                json={"command": "leave", "participant_id": pid},
                headers=await bearer_headers(client, "host@example.org", "long-secret"),
            )
    invites = kamailio.seen("INVITE")
    assert [i.cseq for i in invites] == [1, 2], "one challenge, one answer"
    assert not invites[0].auth and f"algorithm={algorithm}" in invites[1].auth
    assert f"INVITE sip:{NUMBER}@" in sipp.messages and "CSeq: 2 INVITE" in sipp.messages
    assert {r.proto for r in [*registers, *invites]} == {transport}
    heard = decode_audio([RtpPacket.parse(p.payload) for p in tap.packets])
    assert rms(heard) > 300, "the callee heard us (you are invited, press 1)"


@pytest.mark.parametrize("password", ["not-the-password"])
async def test_wrong_password_fails_the_call_without_a_retry_loop(
    phone: PhoneStack,
    room: Room,
    services: Services,
    client: httpx.AsyncClient,
    kamailio: Kamailio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    told: list[ev.InviteFailed] = []

    async def listen(event: ev.Event) -> None:
        if isinstance(event, ev.InviteFailed):
            told.append(event)

    unsubscribe = services.bus.subscribe(listen)
    try:
        pid, _ = await invite_from_the_api(client, room, NUMBER)
        await eventually(lambda: bool(told), 15)
        assert told[0].number == NUMBER and told[0].audience == frozenset({pid})
        assert len(people(services, room)) == 1, "nobody joined"
        registration = phone.registration
        assert registration is not None
        await eventually(lambda: registration.last_status is not None, 10)
        assert not registration.registered and registration.last_status == 401
        await asyncio.sleep(1.5)  # a loop would show by now
        assert [i.cseq for i in kamailio.seen("INVITE")] == [1, 2]
        assert [r.cseq for r in kamailio.seen("REGISTER")] == [1, 2]
        assert "not-the-password" not in caplog.text
        assert "not-the-password" not in repr(phone.bridge.trunk_auth)
    finally:
        unsubscribe()
