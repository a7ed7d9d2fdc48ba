"""Passing a call on to the node that runs its room (issue 16 item 5, F-SC2).

The front (Kamailio) hands a new call to any live node, before anyone knows the room:
the caller types it in the voice menu. When another node runs that room, this node does
not send the caller through a second menu, nor does it hand the dialog over (a REFER
would need the phone's support and moves its RTP to an address it never negotiated
with): it calls the owner itself, a back-to-back user agent, with a signed
``X-Confero-Admit`` (phone/admit_token.py) that takes the caller straight into the room,
and relays the RTP without decoding it (phone/relay.py) until either side hangs up. A
caller's SIP INFO digits go on as INFO; RFC 4733 digits are RTP and pass as they are.

An owner that dies sends no BYE: its RTP stops. After ``OWNER_SILENCE`` without it the
cluster is asked whether that node still runs the room (an owner may be quiet: Opus
DTX); once it does not (its lease lapsed), the pass-on ends as ``OWNER_LOST`` and the
call joins the room again wherever it runs now (this node or another), instead of
leaving the caller in silence. The admit token carries the call's resume token
(phone/admit_token.py): the owner keeps the call's record under it, so when the call
joins again, the record says whether it had been let in (no second knock on a locked
room) or was knocking (it knocks again). Before the INVITE, the caller's recorded name
goes to the cluster's ``CallerNames`` store under that token, for the owner's
announcements (app/caller_names.py).
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable

from confero.app import caller_names
from confero.app.caller_names import CallerNames
from confero.app.placement import NodeInfo, Placement
from confero.domain.errors import DomainError
from confero.phone import admit_token
from confero.phone.call import PhoneCall
from confero.phone.ivr import Admitted
from confero.phone.relay import Relayed, RtpRelay
from confero.sip import offer_answer, sdp
from confero.sip.info_dtmf import build_dtmf_relay
from confero.sip.transport import Peer
from confero.sip.ua import SipCall, UserAgent

log = logging.getLogger(__name__)
#: What of a caller's number may go in the From of a relayed call's INVITE.
_NOT_IN_USER = re.compile(r"[^A-Za-z0-9+._-]")
#: Seconds without the owner's RTP before the cluster is asked whether it still lives.
OWNER_SILENCE = 2.0
#: How often a silent owner is asked after.
OWNER_CHECK = 1.0


async def pass_to_owner(
    ua: UserAgent,
    media_host: str,
    secret: bytes,
    placement: Placement,
    names: CallerNames | None,
    call: PhoneCall,
    admitted: Admitted,
) -> Relayed:
    """Pass ``call`` on to the node that runs its room and relay its RTP until one side
    hangs up or that node is gone; ``REFUSED`` when it could not be passed on (no
    cluster secret, no live owner, the owner did not answer)."""
    if not secret:
        return Relayed.REFUSED
    room_id = admitted.room.id
    owner = await placement.owner(room_id)
    if owner is None or owner.node_id == placement.this_node.node_id:
        return Relayed.REFUSED
    # the leg's own socket: the caller's RTP keeps coming to the port it knows
    await call.own_sockets()  # from its media worker, if one has it (issue 15 P4)
    caller_socket = call.leg.transport
    if caller_socket is None or call.sip.state == "ended":
        return Relayed.REFUSED
    relay = RtpRelay(caller_socket, call.leg.remote, on_caller=call.heard)

    async def still_owner() -> bool:
        now = await placement.owner(room_id)
        return now is not None and now.node_id == owner.node_id

    if call.resume_token is None:  # one per call: its record on every owner
        call.resume_token = secrets.token_urlsafe(24)
    await _share_name(names, call, admitted)
    try:
        return await pass_on(ua, media_host, secret, call, admitted, owner, relay, still_owner)
    finally:
        relay.close()


async def shared_name(names: CallerNames | None, call: PhoneCall) -> bytes | None:
    """On the owner: the name a relayed caller recorded on the first node; None without
    one (or with the store out of reach: announced as "a participant", nothing worse)."""
    if names is None or call.resume_token is None:
        return None
    try:
        return await names.get(call.resume_token)
    except DomainError as exc:  # the store out of reach: the call goes in all the same
        log.warning("call %s: its recorded name cannot be read: %s", call.sip.call_id, exc)
        return None


async def _share_name(names: CallerNames | None, call: PhoneCall, admitted: Admitted) -> None:
    """Put the caller's recorded name where the owner reads it (before the INVITE)."""
    recording = admitted.name_recording
    if names is None or not recording or call.resume_token is None:
        return
    try:
        await names.put(call.resume_token, recording[: caller_names.MAX_BYTES])
    except DomainError as exc:  # the owner says "a participant": the call goes on
        log.warning("call %s: its recorded name cannot be shared: %s", call.sip.call_id, exc)


async def pass_on(
    ua: UserAgent,
    media_host: str,
    secret: bytes,
    call: PhoneCall,
    admitted: Admitted,
    owner: NodeInfo,
    relay: RtpRelay,
    still_owner: Callable[[], Awaitable[bool]],
) -> Relayed:
    """Call ``owner`` for ``call`` and relay until one side hangs up (``ENDED``), or
    the owner is gone (``OWNER_LOST``, ``still_owner`` said no); ``REFUSED`` when the
    owner did not take it (the caller is still ours: it hears why and is hung up)."""
    port = await relay.open(media_host)
    leg = call.leg
    dtmf = leg.dtmf_payload_type
    our_offer = offer_answer.offer(
        local_ip=media_host,
        local_port=port,
        session_id=0,
        session_version=0,
        codecs=(leg.codec.name,),
        payload_types={leg.codec.name: leg.codec.payload_type},
        dtmf_payload_type=dtmf if dtmf is not None and 96 <= dtmf <= 127 else None,
    )
    # one per call (PhoneBridge.relay picks it): its record on every owner (issue 16)
    assert call.resume_token is not None, "a passed-on call carries its resume token"
    token = admit_token.issue(
        secret,
        room_id=admitted.room.id,
        role=admitted.role,
        caller=call.caller,
        node_id=owner.node_id,
        resume=call.resume_token,
    )
    log.info("call %s passed on to node %s", call.sip.call_id, owner.node_id)
    try:
        outgoing = await ua.call(
            f"sip:{admitted.room.conference_number}@{owner.sip_address}",
            Peer("UDP", (owner.sip_host, owner.sip_port)),
            offer_answer.SessionOrigin().stamp(our_offer),
            from_user=_NOT_IN_USER.sub("", call.caller) or "confero",
            extra_headers=((admit_token.HEADER, token),),
        )
    except OSError:
        log.exception("call %s: node %s unreachable", call.sip.call_id, owner.node_id)
        return Relayed.REFUSED
    media = _answered_media(outgoing, our_offer)
    if media is None or call.sip.state == "ended":
        outgoing.hangup()
        log.info("call %s: node %s did not take it", call.sip.call_id, owner.node_id)
        # a caller who hung up hears nothing more
        return Relayed.ENDED if call.sip.state == "ended" else Relayed.REFUSED
    call.leave_mixer()
    relay.start(media)
    call.sip.on_digit = lambda digit: _send_info(ua, outgoing, digit)
    outcome = await _until_over(call.sip, outgoing, relay, still_owner)
    outgoing.hangup()
    log.info("relayed call %s: %s (%s)", call.sip.call_id, outcome.value, relay.stats)
    return outcome


async def _until_over(
    caller: SipCall,
    outgoing: SipCall,
    relay: RtpRelay,
    still_owner: Callable[[], Awaitable[bool]],
) -> Relayed:
    """Until either side hangs up, or the owner went silent and is no longer the owner."""
    while True:
        await _either_ends(caller, outgoing, within=OWNER_CHECK)
        if caller.state == "ended" or outgoing.state == "ended":
            return Relayed.ENDED
        silent = time.monotonic() - relay.last_from_owner > OWNER_SILENCE
        if silent and not await still_owner():
            return Relayed.OWNER_LOST


def _answered_media(outgoing: SipCall, our_offer: sdp.SessionDescription) -> tuple[str, int] | None:
    """Where the owner's RTP comes from and goes to, from its answer; None: no usable
    answer (or no answer at all)."""
    if outgoing.state != "confirmed":
        return None
    try:
        answer = sdp.parse(outgoing.remote_sdp.decode("utf-8", "replace"))
        negotiated = offer_answer.accept_answer(our_offer, answer)
    except sdp.SdpError:
        return None
    return negotiated.remote_address


def _send_info(ua: UserAgent, call: SipCall, digit: str) -> None:
    """A caller's SIP INFO digit, sent on to the owner as INFO (RFC 4733 digits are
    RTP and pass through the relay as they are)."""
    if call.dialog is None or call.state == "ended":
        return
    body = build_dtmf_relay(digit).encode()
    info = call.dialog.request("INFO", body=body, content_type="application/dtmf-relay")
    ua.transactions.request(info, call.dialog.peer)


async def _either_ends(*calls: SipCall, within: float) -> None:
    """Returns when one of ``calls`` ends, or after ``within`` seconds."""
    waits = [asyncio.ensure_future(c.ended.wait()) for c in calls]
    try:
        await asyncio.wait(waits, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in waits:
            fut.cancel()
