"""Who watches whose camera and screen: publishing a browser's video to the room's SFU
and offering every other browser a receive-only connection for it (docs/SIGNALING.md,
Media). The forwarding itself is ``media.sfu``; this module only keeps the room's
publications and subscriptions in step with cameras going on and off."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from confero.domain.errors import DomainError
from confero.media.sfu import Publication, Sfu
from confero.webrtc import signaling as s
from confero.webrtc.visitor import Participant


class Streams:
    def __init__(self, sfu: Sfu, entered_in: Callable[[str], Iterable[Participant]]) -> None:
        self.sfu = sfu
        #: The participants of a room who are in the conference now.
        self._entered_in = entered_in

    async def publish(self, p: Participant, slot: str) -> None:
        """``slot`` ("camera" or "screen") of ``p`` goes to everyone else in the room."""
        assert p.media is not None
        track = p.media.published.get(slot)
        if track is None:
            raise DomainError("media.no_offer", f"send an offer with a {slot} transceiver first")
        pub = Publication(
            id=f"{p.id}-{slot}",
            participant_id=p.id,
            kind=slot,
            send_keyframe_request=track.request_keyframe,
        )
        self.sfu.publish(p.room.id, pub)
        track.publication = pub
        p.publishing[slot] = pub.id
        for other in self._entered_in(p.room.id):
            if other is not p and other.media is not None and other.media.publish_pc is not None:
                await self.watch(other, pub)

    async def unpublish(self, p: Participant, slot: str) -> None:
        stream_id = p.publishing.pop(slot, None)
        if stream_id is None:
            return
        if p.media is not None and slot in p.media.published:
            p.media.published[slot].publication = None
        self.sfu.unpublish(p.room.id, stream_id)
        for other in self._entered_in(p.room.id):
            if other.media is not None and stream_id in other.media.watching:
                await other.media.unwatch(stream_id)
                if other.visitor is not None:
                    other.visitor.push(s.message("unsubscribe", stream_id=stream_id))

    async def unpublish_all(self, p: Participant) -> None:
        for slot in list(p.publishing):
            await self.unpublish(p, slot)

    async def watch_room(self, p: Participant) -> None:
        """A browser that just connected its media watches what the others publish."""
        for pub in self.sfu.publications(p.room.id):
            if pub.participant_id != p.id:
                await self.watch(p, pub)

    async def watch(self, p: Participant, pub: Publication) -> None:
        assert p.media is not None
        sub = pub.subscribe(p.id)
        offer = await p.media.watch(pub.id, sub)
        if p.visitor is not None:
            p.visitor.push(
                s.message(
                    "subscribe",
                    stream_id=pub.id,
                    participant_id=pub.participant_id,
                    kind=pub.kind,
                    sdp=offer,
                )
            )
