"""One browser participant's media: its publish connection and the streams it watches.

The browser offers one *publish* connection (audio sendrecv, camera, screen; see
docs/SIGNALING.md) and never renegotiates it; every remote stream it watches gets a
receive-only connection that we offer. One connection per watched stream costs a few
more ICE/DTLS handshakes than one renegotiated connection, but keeps both sides free of
renegotiation races (glare) when cameras go on and off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamTrack

from confero.media.sfu import Subscription
from confero.webrtc import inline_decoding
from confero.webrtc.audio import BrowserAudioLeg
from confero.webrtc.direct_sender import DirectRtpSender
from confero.webrtc.forward import SubscriberStream
from confero.webrtc.video import ForwardTrack, PublishedTrack, vp8_only

log = logging.getLogger(__name__)
#: The order of the browser's transceivers on the publish connection.
SLOTS = ("audio", "camera", "screen")


def prefer_dtx(sdp: str) -> str:
    """Our answer asks the browser for Opus DTX (RFC 7587 ``usedtx=1``): a silent
    microphone then sends a packet every 400 ms instead of 50 a second, so the many
    listeners of a meeting cost little to receive, decrypt and decode (issue 15 P2).
    aiortc writes no Opus parameters itself (it decodes DTX streams as they come)."""
    lines = sdp.split("\r\n")
    opus = {
        line.split()[0].removeprefix("a=rtpmap:")
        for line in lines
        if line.startswith("a=rtpmap:") and " opus/" in line.lower()
    }
    with_fmtp = {
        line.split()[0].removeprefix("a=fmtp:") for line in lines if line.startswith("a=fmtp:")
    }
    out = []
    for line in lines:
        if line.startswith("a=fmtp:"):
            payload_type, _, params = line.removeprefix("a=fmtp:").partition(" ")
            if payload_type in opus and "usedtx=" not in params:
                line = f"{line};usedtx=1" if params else f"{line} usedtx=1"
        out.append(line)
        if line.startswith("a=rtpmap:"):
            payload_type = line.split()[0].removeprefix("a=rtpmap:")
            if payload_type in opus and payload_type not in with_fmtp:
                out.append(f"a=fmtp:{payload_type} usedtx=1")
    return "\r\n".join(out)


class SignalingError(Exception):
    """An offer or answer we cannot use; the text is safe to show to the client."""


def peer_connection(ice_servers: Sequence[Mapping[str, Any]] = ()) -> RTCPeerConnection:
    # No STUN by default: aiortc would ask Google's, unreachable from a closed network.
    # max-bundle: with aiortc's default ("balanced") the second video m-line of an offer
    # is tied to the first one's transport before BUNDLE is applied, and that transport
    # never starts: the screen share would never arrive (aiortc 1.16).
    servers = [
        RTCIceServer(urls=s["urls"], username=s.get("username"), credential=s.get("credential"))
        for s in ice_servers
    ]
    config = RTCConfiguration(iceServers=servers, bundlePolicy=RTCBundlePolicy.MAX_BUNDLE)
    return RTCPeerConnection(config)


class BrowserMedia:
    def __init__(
        self,
        participant_id: str,
        leg: BrowserAudioLeg,
        ice_servers: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.participant_id = participant_id
        self.leg = leg
        self.ice_servers = ice_servers
        self.publish_pc: RTCPeerConnection | None = None
        self.published: dict[str, PublishedTrack] = {}  #: slot -> incoming video
        self.watching: dict[str, tuple[RTCPeerConnection, Subscription]] = {}
        #: Called with a slot ("camera"/"screen") when its first video arrives.
        self.on_video: Callable[[str], None] = lambda slot: None
        self.on_failed: Callable[[], None] = lambda: None

    async def accept_offer(self, sdp: str) -> str:
        """The browser's publish offer -> our answer (one per session; a new one replaces)."""
        await self._close_publish()
        pc = peer_connection(self.ice_servers)
        self.publish_pc = pc
        try:
            await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        except Exception as exc:  # aiortc raises ValueError, InvalidStateError, ...
            await self._close_publish()
            raise SignalingError(f"the offer cannot be used: {exc}") from exc
        transceivers = pc.getTransceivers()
        kinds = [t.kind for t in transceivers]
        if not kinds or kinds[0] != "audio" or any(k != "video" for k in kinds[1:3]):
            await self._close_publish()
            raise SignalingError("the offer must have audio, then camera and screen video")
        slots = {t: SLOTS[i] for i, t in enumerate(transceivers[:3])}
        for t in transceivers:
            if t.receiver._track is not None:  # it receives: decode on the loop, no thread
                inline_decoding.install(t.receiver)
        video_codecs = vp8_only(RTCRtpSender.getCapabilities("video"))
        for t in transceivers:
            if t.kind == "video":
                t.setCodecPreferences(video_codecs)
        transceivers[0].sender.replaceTrack(self.leg.track)  # for the offer's stream
        self.leg.send_directly(DirectRtpSender(transceivers[0].sender))
        transceivers[0].direction = "sendrecv"

        @pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            owner = next((t for t in transceivers if t.receiver.track is track), None)
            slot = slots.get(owner) if owner is not None else None
            if track.kind == "audio" and slot == "audio":
                self.leg.attach(track)
            elif track.kind == "video" and slot in ("camera", "screen") and owner is not None:
                self._receive_video(slot, track, owner.receiver)

        @pc.on("connectionstatechange")
        def on_state() -> None:
            if pc.connectionState == "failed" and pc is self.publish_pc:
                self.on_failed()

        # Tracks of the offer fire while setting the remote description, before our
        # handler existed: pick them up here.
        for t in transceivers:
            track = t.receiver.track
            if track is not None and t.direction in ("recvonly", "sendrecv"):
                on_track(track)
        answer = await pc.createAnswer()
        await pc.setLocalDescription(answer)
        return prefer_dtx(pc.localDescription.sdp)

    def _receive_video(self, slot: str, track: MediaStreamTrack, receiver: RTCRtpReceiver) -> None:
        old = self.published.pop(slot, None)
        if old is not None:
            old.close()
        self.published[slot] = PublishedTrack(track, receiver)
        self.on_video(slot)

    async def watch(self, stream_id: str, subscription: Subscription) -> str:
        """A receive-only connection for the browser to watch one stream: our offer."""
        await self.unwatch(stream_id)
        pc = peer_connection(self.ice_servers)
        # The track only gives the offer its stream; frames go out by SubscriberStream.
        transceiver = pc.addTransceiver(ForwardTrack(subscription), direction="sendonly")
        transceiver.setCodecPreferences(vp8_only(RTCRtpSender.getCapabilities("video")))
        SubscriberStream(transceiver.sender, subscription)
        self.watching[stream_id] = (pc, subscription)
        offer = await pc.createOffer()
        await pc.setLocalDescription(offer)
        return pc.localDescription.sdp

    async def watch_answer(self, stream_id: str, sdp: str) -> None:
        entry = self.watching.get(stream_id)
        if entry is None:
            raise SignalingError("no such stream")
        try:
            await entry[0].setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))
        except Exception as exc:
            await self.unwatch(stream_id)
            raise SignalingError(f"the answer cannot be used: {exc}") from exc

    async def unwatch(self, stream_id: str) -> None:
        entry = self.watching.pop(stream_id, None)
        if entry is not None:
            pc, subscription = entry
            subscription.publication.unsubscribe(subscription.subscriber_id)
            await pc.close()

    async def _close_publish(self) -> None:
        for published in self.published.values():
            published.close()
        self.published.clear()
        self.leg.detach()
        if self.publish_pc is not None:
            pc, self.publish_pc = self.publish_pc, None
            with contextlib.suppress(Exception):
                await pc.close()

    async def close(self) -> None:
        await asyncio.gather(*(self.unwatch(s) for s in list(self.watching)))
        await self._close_publish()
        self.leg.close()
