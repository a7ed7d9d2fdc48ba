"""sipp XML scenarios for the end-to-end tests, as strings to hand to :class:`~tests.e2e.sipp.Sipp`.

Each function returns a complete ``<scenario>``; run it with ``Sipp(xml, target)``.
Things to know about sipp's scenario language (checked against sipp 3.6.1):

* Messages are CDATA; sipp strips each line's leading whitespace, ends lines with CRLF
  and computes ``[len]`` (Content-Length) over the body after the first empty line.
* ``[branch]`` is ``z9hG4bK-<pid>-<call number>-<element index>``: a new branch for every
  element. A CANCEL and the ACK of a non-2xx response must reuse the INVITE's branch, so
  :func:`cancel_before_answer` writes a literal branch for all three instead.
* ``[last_Via:]`` etc. copy the header of the last message received (the line vanishes
  if there was none); ``[peer_tag_param]`` is ``;tag=<the To tag of the last response>``.
* ``rrs="true"`` on the 200 stores the Record-Route set and the Contact, used by
  ``[next_url]`` (the remote target) and ``[routes]`` (empty without Record-Route: the
  line vanishes) in the in-dialog requests.
* A response matches a ``<recv response=...>`` only if its CSeq method was sent before;
  requests and responses are matched to the call by Call-ID, so every message must carry
  ``Call-ID: [call_id]`` (also a hand-written one given to :func:`raw`).
* Anything not expected at the current point (and not an optional element right ahead)
  is unexpected: the call fails (sipp's default behaviours then send BYE / CANCEL).
  A message arriving during a ``<pause>`` is unexpected too.
* sipp refuses to load a scenario where optional ``<recv>``s are followed by a ``<send>``
  or ``<pause>`` without a mandatory ``<recv>`` between ("<recv> before <pause> sequence
  without a mandatory message").
* A variable set by an action (``<ereg assign_to=...>``) must be used somewhere, or
  sipp refuses the scenario ("Variable $x is referenced 1 times!").
* ``<exec play_pcap_audio=...>`` returns at once and plays in the background; to let it
  finish, the scenario must pause for the capture's length (:func:`dial` does).
"""

from __future__ import annotations

from pathlib import Path
from xml.sax.saxutils import quoteattr

from tests.e2e.pcap import pcap_duration

__all__ = [
    "CODEC_NAMES",
    "cancel_before_answer",
    "dial",
    "options_ping",
    "raw",
    "sdp_offer",
]

#: rtpmap of the payload types ``dial`` can offer
CODEC_NAMES: dict[str, str] = {
    "0": "PCMU/8000",
    "8": "PCMA/8000",
    "9": "G722/8000",
    "101": "telephone-event/8000",
}

_HEAD = '<?xml version="1.0" encoding="ISO-8859-1" ?>\n<!DOCTYPE scenario SYSTEM "sipp.dtd">\n'

_FROM = "From: sipp <sip:sipp@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"
_TO = "To: <sip:[service]@[remote_ip]:[remote_port]>"
_CONTACT = "Contact: <sip:sipp@[local_ip]:[local_port];transport=[transport]>"
_VIA = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]"


def invite_lines(via: str, *, offer: str | None, extra: tuple[str, ...] = ()) -> list[str]:
    """The INVITE every scenario sends: ``offer`` as its SDP, or none (late offer)."""
    body = (
        ["Content-Type: application/sdp", "Content-Length: [len]", "", offer]
        if offer is not None
        else ["Content-Length: 0"]
    )
    return [
        "INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
        via,
        _FROM,
        _TO,
        "Call-ID: [call_id]",
        "CSeq: 1 INVITE",
        _CONTACT,
        "Max-Forwards: 70",
        *extra,
        *body,
    ]


#: A Via whose branch stays the INVITE's: the ACK of a non-2xx (and a CANCEL) reuse it.
INVITE_VIA = "Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-[pid]-[call_number]-i"


def ack_non_2xx(via: str = INVITE_VIA) -> str:
    """The ACK of a final non-2xx answer to the INVITE sent with ``via`` (same branch,
    RFC 3261 17.1.1.3), e.g. a 503 from admission control."""
    return "\n".join(
        [
            "ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
            via,
            _FROM,
            _TO + "[peer_tag_param]",
            "Call-ID: [call_id]",
            "CSeq: 1 ACK",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
    )


def _scenario(name: str, body: str) -> str:
    return f"{_HEAD}<scenario name={quoteattr(name)}>\n{body}</scenario>\n"


def _send(message: str, *, retrans: bool = True, extra: str = "") -> str:
    attrs = ' retrans="500"' if retrans else ""
    lines = "\n".join(f"      {line}" if line else "" for line in message.split("\n"))
    return f"  <send{attrs}{extra}>\n    <![CDATA[\n\n{lines}\n\n    ]]>\n  </send>\n\n"


def _recv_response(code: int, *, optional: bool = False, extra: str = "") -> str:
    opt = ' optional="true"' if optional else ""
    return f'  <recv response="{code}"{opt}{extra}/>\n'


def _pause(seconds: float) -> str:
    return f'  <pause milliseconds="{max(0, round(seconds * 1000))}"/>\n'


def sdp_offer(
    *,
    codecs: str = "0 101",
    media_port: str = "[media_port]",
    media_ip: str = "[media_ip]",
) -> str:
    """An audio offer for the INVITE; ``codecs`` is the m= line's payload type list."""
    pts = codecs.split()
    unknown = [pt for pt in pts if pt not in CODEC_NAMES]
    if unknown:
        raise ValueError(f"no rtpmap known for payload types {unknown}")
    lines = [
        "v=0",
        "o=sipp 53655765 2353687637 IN IP[media_ip_type] " + media_ip,
        "s=-",
        "c=IN IP[media_ip_type] " + media_ip,
        "t=0 0",
        f"m=audio {media_port} RTP/AVP {' '.join(pts)}",
    ]
    for pt in pts:
        lines.append(f"a=rtpmap:{pt} {CODEC_NAMES[pt]}")
        if CODEC_NAMES[pt].startswith("telephone-event"):
            lines.append(f"a=fmtp:{pt} 0-15")
    lines += ["a=ptime:20", "a=sendrecv"]
    return "\n".join(lines)


def _in_dialog(method: str, cseq: int, *, body: str = "", content_type: str = "") -> str:
    headers = [
        f"{method} [next_url] SIP/2.0",
        _VIA,
        "[routes]",
        _FROM,
        _TO + "[peer_tag_param]",
        "Call-ID: [call_id]",
        f"CSeq: {cseq} {method}",
        _CONTACT,
        "Max-Forwards: 70",
    ]
    if content_type:
        headers.append(f"Content-Type: {content_type}")
    headers.append("Content-Length: [len]")
    return "\n".join(headers) + ("\n\n" + body if body else "")


def _reply_200() -> str:
    return "\n".join(
        [
            "SIP/2.0 200 OK",
            "[last_Via:]",
            "[last_From:]",
            "[last_To:]",
            "[last_Call-ID:]",
            "[last_CSeq:]",
            _CONTACT,
            "Content-Length: 0",
        ]
    )


def dial(
    pcap: str | Path | None = None,
    *,
    hold_seconds: float = 1.0,
    expect_bye_from_server: bool = False,
    info_digits: str | None = None,
    sdp_media_port: str = "[media_port]",
    sdp_media_ip: str = "[media_ip]",
    codecs: str = "0 101",
    pcap_seconds: float | None = None,
    bye_timeout: float = 30.0,
    info_pause: float = 0.3,
    info_duration_ms: int = 160,
    answer_timeout: float = 10.0,
    late_offer: bool = False,
) -> str:
    """A call: INVITE with an SDP offer, 100/180/183 optional, 200 (``rrs``), ACK (each
    response within ``answer_timeout`` of the one before, else the call fails); then
    play ``pcap`` (and wait ``pcap_seconds``, by default the capture's length, read from
    the file now), then each of ``info_digits`` as a SIP INFO ``application/dtmf-relay``
    expecting 200, ``info_pause`` apart; then either wait up to ``bye_timeout`` for the
    server's BYE and answer it (``expect_bye_from_server``), or hold ``hold_seconds``
    and hang up (BYE, expect 200).

    ``sdp_media_port``/``sdp_media_ip`` put another address in the offer, e.g. a UDP
    socket of the test recording what the caller hears. The pcap is still sent from
    sipp's ``-mp`` port, so a server that takes RTP only from the SDP's address drops
    it: to play a pcap and record, keep ``[media_port]`` and record with
    :class:`~tests.e2e.sipp.RtpTap` on ``sipp.media_port`` instead.

    ``late_offer``: the INVITE carries no SDP (RFC 3261 13.2.1; linphone's
    ``sdp_200_ack``, many PBXs); the server's 200 carries the offer and the ACK the
    answer, which is then the SDP above (its ``codecs`` must be among the offered ones).
    """
    offer = sdp_offer(codecs=codecs, media_port=sdp_media_port, media_ip=sdp_media_ip)
    with_sdp = ["Content-Type: application/sdp", "Content-Length: [len]", "", offer]
    invite = "\n".join(
        invite_lines(_VIA, offer=None if late_offer else offer, extra=("Subject: confero e2e",))
    )
    ack = "\n".join(
        [
            "ACK [next_url] SIP/2.0",
            _VIA,
            "[routes]",
            _FROM,
            _TO + "[peer_tag_param]",
            "Call-ID: [call_id]",
            "CSeq: 1 ACK",
            _CONTACT,
            "Max-Forwards: 70",
            *(with_sdp if late_offer else ["Content-Length: 0"]),
        ]
    )
    # every recv gets the timeout: sipp arms the one of the recv the call waits on, which
    # is the first optional one until something arrives
    answer = f' timeout="{round(answer_timeout * 1000)}"'
    parts = [
        _send(invite),
        _recv_response(100, optional=True, extra=answer),
        _recv_response(180, optional=True, extra=answer),
        _recv_response(183, optional=True, extra=answer),
        _recv_response(200, extra=' rrs="true" rtd="true"' + answer),
        _send(ack, retrans=False),
    ]
    if pcap is not None:
        if pcap_seconds is None:
            pcap_seconds = pcap_duration(pcap) + 0.2
        parts.append(
            "  <nop>\n    <action>\n"
            f"      <exec play_pcap_audio={quoteattr(str(pcap))}/>\n"
            "    </action>\n  </nop>\n"
        )
        parts.append(_pause(pcap_seconds))
    cseq = 2
    for i, digit in enumerate(info_digits or ""):
        if i:
            parts.append(_pause(info_pause))
        body = f"Signal={digit}\nDuration={info_duration_ms}"
        parts.append(
            _send(_in_dialog("INFO", cseq, body=body, content_type="application/dtmf-relay"))
        )
        parts.append(_recv_response(200))
        cseq += 1
    if expect_bye_from_server:
        parts.append(f'  <recv request="BYE" timeout="{round(bye_timeout * 1000)}"/>\n')
        parts.append(_send(_reply_200(), retrans=False))
    else:
        parts.append(_pause(hold_seconds))
        parts.append(_send(_in_dialog("BYE", cseq)))
        parts.append(_recv_response(200))
    return _scenario("confero dial", "".join(parts))


def cancel_before_answer(
    *, ring_seconds: float = 0.2, answer_timeout: float = 10.0, with_sdp: bool = True
) -> str:
    """INVITE; wait for 100 (optional), 180 (optional) and 183, giving up on each after
    ``ring_seconds`` of silence; CANCEL; expect 200 for the CANCEL, then 487 for the
    INVITE (each within ``answer_timeout``), and ACK the 487. The server must not answer
    meanwhile: a 200 for the INVITE fails the scenario."""
    # sipp refuses a <pause> right after optional <recv>s, so the "pause" before the
    # CANCEL is the timeout of the provisional responses: each recv's own timeout is
    # armed while the call waits on it, and ontimeout jumps to the CANCEL
    ring = round(ring_seconds * 1000)
    # CANCEL and the ACK of the 487 belong to the INVITE's transaction: same branch
    branch = "z9hG4bK-[pid]-[call_number]-invite"
    via = f"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={branch}"
    lines = invite_lines(via, offer=sdp_offer() if with_sdp else None)
    cancel = "\n".join(
        [
            "CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
            via,
            _FROM,
            _TO,
            "Call-ID: [call_id]",
            "CSeq: 1 CANCEL",
            "Max-Forwards: 70",
            "Content-Length: 0",
        ]
    )
    ack = ack_non_2xx(via)
    ringing = f' timeout="{ring}" ontimeout="cancel"'
    timeout = f' timeout="{round(answer_timeout * 1000)}"'
    parts = [
        _send("\n".join(lines)),
        _recv_response(100, optional=True, extra=ringing),
        _recv_response(180, optional=True, extra=ringing),
        _recv_response(183, extra=ringing),
        '  <label id="cancel"/>\n',
        _send(cancel),
        _recv_response(180, optional=True),
        _recv_response(183, optional=True),
        _recv_response(200, extra=timeout),
        _recv_response(487, extra=timeout),
        _send(ack, retrans=False),
    ]
    return _scenario("confero cancel before answer", "".join(parts))


def options_ping(*, expect_status: int = 200) -> str:
    """An out-of-dialog OPTIONS; expect ``expect_status``."""
    options = "\n".join(
        [
            "OPTIONS sip:[service]@[remote_ip]:[remote_port] SIP/2.0",
            _VIA,
            _FROM,
            _TO,
            "Call-ID: [call_id]",
            "CSeq: 1 OPTIONS",
            _CONTACT,
            "Max-Forwards: 70",
            "Accept: application/sdp",
            "Content-Length: 0",
        ]
    )
    return _scenario("confero options", _send(options) + _recv_response(expect_status))


def raw(
    message_text: str,
    *,
    expect_status: int | None = 400,
    wait_seconds: float = 0.5,
    retrans: bool = False,
) -> str:
    """Send ``message_text`` as is (sipp keywords allowed) and expect ``expect_status``,
    or with ``expect_status=None`` just wait ``wait_seconds`` (nothing may come back).

    sipp only hands a response to the call if its Call-ID is the call's, so the message
    needs ``Call-ID: [call_id]`` (and a response without it cannot be checked here). It
    also needs the method in a CSeq header for the response to match. Lines are re-ended
    with CRLF and left-stripped by sipp, so line-ending and whitespace faults cannot be
    sent this way: use a plain socket for those. A CDATA section cannot hold ``]]>``.
    """
    if "]]>" in message_text:
        raise ValueError("a sipp message cannot contain ']]>'")
    text = message_text.replace("\r\n", "\n").strip("\n")
    parts = [_send(text, retrans=retrans)]
    if expect_status is None:
        parts.append(_pause(wait_seconds))
    else:
        parts.append(
            _recv_response(expect_status, extra=f' timeout="{round(wait_seconds * 1000) + 5000}"')
        )
    return _scenario("confero raw", "".join(parts))
