"""Peer connections as the server makes them: max-bundle, and no STUN unless configured."""

from __future__ import annotations


async def test_peer_connections_use_the_configured_ice_servers() -> None:
    from confero.webrtc.session import peer_connection

    def configuration(pc):  # aiortc keeps it private
        return pc._RTCPeerConnection__configuration

    pc = peer_connection([{"urls": ["stun:stun.example.org:3478"]}])
    try:
        config = configuration(pc)
        assert [s.urls for s in config.iceServers] == [["stun:stun.example.org:3478"]]
        assert config.bundlePolicy.value == "max-bundle"
    finally:
        await pc.close()
    plain = peer_connection()
    assert configuration(plain).iceServers == [], "no STUN (Google's) unless asked"
    await plain.close()


async def test_the_answer_asks_the_browser_for_opus_dtx() -> None:
    """Issue 15 P2: a silent browser should send DTX, not 50 packets a second."""
    from aiortc import RTCPeerConnection
    from aiortc.mediastreams import AudioStreamTrack, VideoStreamTrack

    from confero.webrtc.audio import BrowserAudioLeg
    from confero.webrtc.session import BrowserMedia

    browser = RTCPeerConnection()
    browser.addTransceiver(AudioStreamTrack(), direction="sendrecv")
    browser.addTransceiver(VideoStreamTrack(), direction="sendonly")
    browser.addTransceiver(VideoStreamTrack(), direction="sendonly")
    await browser.setLocalDescription(await browser.createOffer())
    media = BrowserMedia("p1", BrowserAudioLeg("leg1"))
    try:
        answer = await media.accept_offer(browser.localDescription.sdp)
        opus = [ln for ln in answer.splitlines() if "opus/48000" in ln]
        assert opus, "Opus was negotiated"
        payload_type = opus[0].split()[0].removeprefix("a=rtpmap:")
        fmtp = [ln for ln in answer.splitlines() if ln.startswith(f"a=fmtp:{payload_type} ")]
        assert fmtp and "usedtx=1" in fmtp[0]
        assert answer.endswith("\r\n") and "\r\n\r\n" not in answer
    finally:
        await media.close()
        await browser.close()
