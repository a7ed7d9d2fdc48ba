"""An INVITE flood from sipp (issue 14, Deliver 1): one source sends 60 INVITEs at 100 a
second; beyond its rate the server answers 503 with Retry-After, then bans it with 403,
while OPTIONS from another address is answered at once and a caller from that address
still gets into the conference."""

from __future__ import annotations

import asyncio
import re
import socket
from pathlib import Path

import pytest

from confero.app.services import Services
from confero.config import Settings
from confero.domain.rooms import Room
from confero.phone.stack import PhoneStack
from confero.sip.message import Response, parse
from tests.e2e import scenarios
from tests.e2e.scenarios import _in_dialog, _recv_response, _scenario, _send
from tests.e2e.sipp import Sipp
from tests.phone.support import join

FLOOD = 60


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        http_port=8080,
        sip_invite_rate=5,
        sip_invite_burst=10,
        sip_invite_ban=30,
    )


def flood_scenario() -> str:
    """INVITE; a 503 or 403 is ACKed (same branch) and that is all; a 200 is ACKed and
    hung up at once."""
    invite = "\n".join(scenarios.invite_lines(scenarios.INVITE_VIA, offer=scenarios.sdp_offer()))
    parts = [
        _send(invite),
        _recv_response(100, optional=True),
        _recv_response(180, optional=True),
        _recv_response(503, optional=True, extra=' next="refused"'),
        _recv_response(403, optional=True, extra=' next="refused"'),
        _recv_response(200, extra=' rrs="true"'),
        _send(_in_dialog("ACK", 1), retrans=False),
        _send(_in_dialog("BYE", 2)),
        _recv_response(200, extra=' next="end"'),
        '  <label id="refused"/>\n',
        _send(scenarios.ack_non_2xx(), retrans=False),
        '  <label id="end"/>\n',
    ]
    return _scenario("confero invite flood", "".join(parts))


async def ping(port: int) -> tuple[Response, float]:
    """An OPTIONS from 127.0.0.1 and how long its answer took."""
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        me = sock.getsockname()[1]
        text = (
            f"OPTIONS sip:5000@127.0.0.1 SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{me};branch=z9hG4bK-ping;rport\r\n"
            f"From: <sip:ping@127.0.0.1>;tag=p\r\nTo: <sip:5000@127.0.0.1>\r\n"
            f"Call-ID: ping\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        started = loop.time()
        sock.sendto(text.encode(), ("127.0.0.1", port))
        while True:
            answer = parse(await asyncio.wait_for(loop.sock_recv(sock, 65535), 2))
            if isinstance(answer, Response) and answer.status >= 200:
                return answer, loop.time() - started


async def test_an_invite_flood_is_refused_while_options_and_other_callers_get_through(
    phone: PhoneStack, room: Room, services: Services, tmp_path: Path
) -> None:
    flood = Sipp(
        flood_scenario(),
        ("127.0.0.1", phone.ua.port),
        service="5000",
        calls=FLOOD,
        local_ip="127.0.0.2",
        media_ip="127.0.0.2",
        extra_args=["-r", "100", "-l", str(FLOOD)],
        workdir=tmp_path / "flood",
    )
    async with flood:
        await asyncio.sleep(0.3)  # the flood is on
        answer, took = await ping(phone.ua.port)
        rc = await flood.wait(30)
    assert rc == 0, flood.report()
    assert answer.status == 200 and took < 0.1, "OPTIONS answered at once during the flood"
    received = re.findall(r"^SIP/2\.0 (\d{3})", flood.messages, re.MULTILINE)
    refused = received.count("503") + received.count("403")
    answered = sum(1 for status in received if status == "200")  # INVITEs' and BYEs'
    assert refused >= FLOOD - 20, flood.report()
    assert "403" in received, "a source that keeps going is banned"
    assert answered <= 2 * 20, "only the burst and the rate got in"
    assert len(re.findall(r"^Retry-After: \d+", flood.messages, re.MULTILINE)) == refused
    caller = await join(phone, room, room.pin, services)  # from 127.0.0.1: still welcome
    await caller.hangup()
