"""The answer our side gives an SDP offer, at a fixed test address (shared by the SDP
syntax tests and the offer/answer tests)."""

from __future__ import annotations

from confero.sip.offer_answer import Negotiated, answer
from confero.sip.sdp import SessionDescription, parse


def answer_text(text: str, **kwargs: object) -> tuple[SessionDescription, Negotiated]:
    return answer(
        parse(text),
        local_ip="192.0.2.1",
        local_port=40000,
        session_id=1,
        session_version=1,
        **kwargs,  # type: ignore[arg-type]
    )
