"""Call quality of phone legs in the API (issue 13): a caller whose phone speaks RTCP
shows its codec, loss, jitter and round trip in the conference's participant list, on a
whole node as ``confero serve`` wires it (``Node.build``). The caller is behind NAT (its
SDP names 192.0.2.2): our reports must follow its RTP's real address, not its SDP's."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from confero.app.services import Services
from confero.domain.rooms import Room
from confero.media.leg import RtpAudioLeg
from confero.media.rtcp import Bye, SenderReport
from tests.phone.softphone import Softphone
from tests.phone.support import eventually, people
from tests.web.support import bearer_headers
from tests.webrtc.support import Served, served

__all__ = ["served"]


async def test_a_phone_callers_rtcp_figures_show_in_the_participant_list(
    served: Served,
    room: Room,
    services: Services,
    client: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(RtpAudioLeg, "RTCP_INTERVAL", 1.0)  # 5 s in service
    assert served.node.phone is not None
    owner = await bearer_headers(client, "host@example.org", "long-secret")
    caller = Softphone(served.node.phone.ua.port, sdp_ip="192.0.2.2")
    call = await caller.dial("5000")
    assert call.state == "confirmed"
    await caller.press(f"1{room.conference_number}#{room.pin}##")
    await eventually(lambda: len(people(services, room)) == 1)
    joined = await client.post(
        f"/api/v1/rooms/{room.id}/conference/commands", json={"command": "join"}, headers=owner
    )
    api_pid = joined.json()["participant_id"]
    caller.start_tone(800)
    rows: list[dict[str, Any]] = []

    async def measured() -> bool:
        nonlocal rows
        state = await client.get(f"/api/v1/rooms/{room.id}/conference", headers=owner)
        assert state.status_code == 200, state.text
        rows = state.json()["participants"]
        media = next((p.get("media") for p in rows if p["channel"] == "phone"), None)
        return media is not None and None not in (media["rtt_ms"], media["jitter_ms"])

    try:
        await eventually(measured, 10)
        phone_row = next(p for p in rows if p["channel"] == "phone")
        media = phone_row["media"]
        assert media["codec"] == "PCMU"
        assert media["packets_received"] > 20
        assert (media["packets_lost"], media["loss_percent"]) == (0, 0.0)
        assert 0 <= media["rtt_ms"] < 500 and 0 <= media["jitter_ms"] < 100
        # what the phone reported about our stream: nothing lost on loopback
        assert media["remote_loss_percent"] == 0.0 and media["remote_packets_lost"] == 0
        assert media["reports_received"] >= 1 and media["rtcp_malformed"] == 0
        assert "media" not in next(p for p in rows if p["id"] == api_pid), "not a phone"
        sr = next(p[0] for p in caller.rtcp_in if isinstance(p[0], SenderReport))
        assert sr.packet_count > 0, "the phone got our sender reports"
        await caller.stop_tone()
        assert caller.call is not None
        caller.call.hangup()
        await eventually(lambda: any(isinstance(p[-1], Bye) for p in caller.rtcp_in), 5)
    finally:
        await client.post(
            f"/api/v1/rooms/{room.id}/conference/commands",
            json={"command": "leave", "participant_id": api_pid},
            headers=owner,
        )
        await caller.hangup()
    await eventually(lambda: not people(services, room))
