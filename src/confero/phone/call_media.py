"""One phone call's media signalling after the first offer/answer (F-PH1, issue 13).

Why a module of its own: the bridge decides who a call is and where it goes; what SDP
the call says later is a separate concern with its own rules. Each call keeps one
``o=`` line whose version moves only when our SDP does (RFC 3264 section 8,
``SessionOrigin``). A re-INVITE with SDP (hold, resume) is answered on the same port
with the same codec; without SDP it gets our offer for the call as it is and the answer
comes in the ACK. Whatever is negotiated is applied to the leg the same way: where to
send, whether to send, symmetric RTP from the SIP peer's host, RTCP, and ``held`` (a
caller on hold plays music on hold, which must not reach the room).

Issue 14: a re-INVITE's ``c=0.0.0.0`` is hold (``reoffer=True``), where an initial
offer's is refused; whatever is negotiated restarts the media timeout's clock
(``leg.last_heard``): a caller who resumes after a long hold has until the short
timeout for its RTP to come back (phone/call.py).
"""

from __future__ import annotations

import time

from confero.media.leg import RtpAudioLeg
from confero.media.phone_codecs import codec_for
from confero.media.workers.remote import RemoteRtpLeg
from confero.sip import offer_answer, sdp
from confero.sip.ua import SipCall

#: A call's leg: its sockets here, or in a media worker once it entered its room
#: (issue 15 P4: ``media.workers``); the call's signalling sets either the same way.
PhoneLeg = RtpAudioLeg | RemoteRtpLeg


class CallMedia:
    """The leg of one call, our ``o=`` line, the SIP peer's host and our last offer."""

    def __init__(
        self,
        leg: PhoneLeg,
        peer_host: str | None,
        media_host: str,
        *,
        origin: offer_answer.SessionOrigin | None = None,
        inbound: bool = False,
    ) -> None:
        self.leg = leg
        self.peer_host = peer_host
        #: a call to us: its SDP is a stranger's word (leg.set_remote ``proven_only``)
        self.inbound = inbound
        self.media_host = media_host
        self.origin = origin or offer_answer.SessionOrigin()
        self.offer: sdp.SessionDescription | None = None

    def follow(self, sip_call: SipCall) -> None:
        """Take the call's later offers and answers (re-INVITE with or without SDP)."""
        sip_call.on_offer = self.reoffer
        sip_call.make_offer = self.current_offer
        sip_call.on_answer = self.answered

    def apply(self, negotiated: offer_answer.Negotiated) -> None:
        leg = self.leg
        if negotiated.remote_address is not None:
            leg.set_remote(
                negotiated.remote_address, peer_host=self.peer_host, proven_only=self.inbound
            )
        leg.sending = negotiated.we_send
        leg.held = negotiated.on_hold
        leg.set_rtcp_remote(negotiated.rtcp_address, mux=negotiated.rtcp_mux)
        leg.last_heard = max(leg.last_heard, time.monotonic())  # the phone spoke (SDP)

    def use(self, negotiated: offer_answer.Negotiated) -> None:
        """The answer to our offer chose the codec: switch the leg to it on the same
        sockets (closing and binding the port again races the kernel's release)."""
        self.leg.set_codec(codec_for(negotiated.codec_name, negotiated.payload_type))
        self.leg.dtmf_payload_type = negotiated.dtmf_payload_type
        self.apply(negotiated)

    def accepted(self, body: bytes) -> offer_answer.Negotiated | None:
        """The answer ``body`` to our last offer, or None when there is nothing to use."""
        if self.offer is None:
            return None
        try:
            return offer_answer.accept_answer(self.offer, sdp.parse(_text(body)))
        except sdp.SdpError:
            return None

    def reoffer(self, body: bytes) -> bytes | None:
        """A re-INVITE's offer answered (None: 488): same port, same codec."""
        try:
            answer, negotiated = offer_answer.answer(
                sdp.parse(_text(body)),
                local_ip=self.media_host,
                local_port=self.leg.local_port,
                session_id=0,
                session_version=0,
                prefer=(self.leg.codec.name,),
                reoffer=True,  # c=0.0.0.0 is hold here
            )
        except sdp.SdpError:
            return None
        self.apply(negotiated)
        return self.origin.stamp(answer)

    def current_offer(self) -> bytes:
        """A re-INVITE without SDP: our offer for the call as it is (its codec, port
        and telephone-event); :meth:`answered` takes the answer from the ACK."""
        leg = self.leg
        dtmf = leg.dtmf_payload_type
        self.offer = offer_answer.offer(
            local_ip=self.media_host,
            local_port=leg.local_port,
            session_id=0,
            session_version=0,
            codecs=(leg.codec.name,),
            payload_types={leg.codec.name: leg.codec.payload_type},
            dtmf_payload_type=dtmf if dtmf is not None and 96 <= dtmf <= 127 else None,
        )
        return self.origin.stamp(self.offer)

    def answered(self, body: bytes) -> bool:
        """The ACK's answer to :meth:`current_offer`; False: unusable (the UA says BYE)."""
        negotiated = self.accepted(body)
        if negotiated is None or negotiated.codec_name != self.leg.codec.name:
            return False
        self.apply(negotiated)
        return True


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")
