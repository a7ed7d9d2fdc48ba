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
