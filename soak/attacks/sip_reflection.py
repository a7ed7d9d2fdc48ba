"""Issue 14's reflection attack, rerun: an INVITE whose SDP names a victim (127.0.0.3).

(a) never ACKed: what reaches the victim over 36 s (Timer H is 32 s) and when the server
gives up (its BYE to the INVITE's source); multicast, broadcast and 0.0.0.0 in c= must get
488. ACKed calls naming a victim (RTP goes to an SDP host other than the SIP source only
once that host's own RTP arrived): (c) one that never sends RTP, (d) one that sends RTP
from its own address 0.5 s after the ACK (it must still hear the IVR: a phone behind NAT
whose SDP names its private address). Blind, as from a forged source: (e) the INVITE,
then an ACK without the 200's To tag from a third address, nothing read (the ACK must be
dropped); (f) the same with the INVITE's source forged as the victim itself (a socket on
127.0.0.3 stands in for the forgery): what reaches it is the 200's retransmissions
(RFC 3261 13.3.1.4), bounded per address by the pending cap (10).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from soak.attacks.sip_client import Address, Call, Udp
from soak.attacks.sip_room import in_thread, make_server
from soak.findings import Finding, Severity

#: not-yet-ACKed calls one source address may hold (SIP_MAX_PENDING_PER_SOURCE default)
PENDING_PER_SOURCE = 10


async def attack_reflection(workdir: Path) -> list[Finding]:
    server, room = await in_thread(lambda: make_server(workdir, "reflection"))
    target = ("127.0.0.1", server.sip_port)
    opened: list[Udp | Call] = []
    try:
        victim_a = await Udp.open("127.0.0.3", rcvbuf=4 << 20)
        victim_b = await Udp.open("127.0.0.3", rcvbuf=4 << 20)
        victim_c = await Udp.open("127.0.0.3", rcvbuf=4 << 20)
        victim_e = await Udp.open("127.0.0.3", rcvbuf=4 << 20)
        opened += [victim_a, victim_b, victim_c, victim_e]
        # (e) blind, as from a forged source: the INVITE, then an ACK without the 200's
        # To tag from yet another address; nothing is ever read
        e = await Call("127.0.0.8", target, room.number, "+4930888").open()
        e.sip.answer = False
        forger = await Udp.open("127.0.0.9")
        opened += [e, forger]
        e_invite = e.invite_bytes(victim_e.address)
        e.sip.send(e_invite, target)
        # (f) the same with the INVITE's source forged as the victim's own address (a
        # socket bound on 127.0.0.3 stands in for the forgery): SDP host = SIP source
        victim_f = await Udp.open("127.0.0.3", rcvbuf=4 << 20)
        f = await Call("127.0.0.3", target, room.number, "+4930999").open()
        f.sip.answer = False
        opened += [victim_f, f]
        f_invite = f.invite_bytes(victim_f.address)
        f.sip.send(f_invite, target)
        # (a) never ACKed: the INVITE alone, no retransmission, nothing answered
        a = await Call("127.0.0.2", target, room.number, "+4930444").open()
        a.sip.answer = False
        opened.append(a)
        invite = a.invite_bytes(victim_a.address)
        a.sip.send(invite, target)
        a_sent = time.monotonic()
        # (b) multicast, broadcast, unspecified: 488 expected
        bad: dict[str, str] = {}
        for host in ("224.0.0.1", "255.255.255.255", "0.0.0.0"):
            c = await Call("127.0.0.6", target, room.number, "+4930555").open()
            opened.append(c)
            answer = await c.invite(host, within=8)
            bad[host] = str(answer.status) if answer else "no answer"
            if answer is not None and answer.status == 200:
                c.ack()
                await c.hangup()
        await asyncio.sleep(1.0)
        e_ack = e.ack_bytes()
        forger.send(e_ack, target)
        f_ack = f.ack_bytes()
        forger.send(f_ack, target)
        # (c) ACKed, never sends RTP: what reaches the victim until the server ends it
        c_call = await Call("127.0.0.4", target, room.number, "+4930666").open()
        opened.append(c_call)
        c_answer = await c_call.invite(victim_b.address)
        if c_answer is not None and c_answer.status == 200:
            c_call.ack()
        c_acked = time.monotonic()
        # (d) ACKed, sends RTP from its own address 0.5 s after the ACK
        d_call = await Call("127.0.0.5", target, room.number, "+4930777").open()
        opened.append(d_call)
        d_answer = await d_call.invite(victim_c.address)
        if d_answer is not None and d_answer.status == 200:
            d_call.ack()
        await asyncio.sleep(0.5)
        server_rtp: Address | None = None
        if d_answer is not None:
            for line in d_answer.body.decode().splitlines():
                if line.startswith("m=audio"):
                    server_rtp = ("127.0.0.1", int(line.split()[1]))
        first_rtp = time.monotonic()
        for _ in range(150):  # 3 s of RTP (silence) from the caller's own socket
            if server_rtp is not None:
                d_call.send_rtp(1, server_rtp)
            await asyncio.sleep(0.02)
        await d_call.hangup()
        # the window: Timer H for (a), the IVR's silence flow / media timeout for (c)
        await a.sip.wait(lambda: a.bye_from_server(), max(0.0, 36.0 - (time.monotonic() - a_sent)))
        await c_call.sip.wait(
            lambda: c_call.bye_from_server(), max(0.0, 36.0 - (time.monotonic() - c_acked))
        )
        await asyncio.sleep(0.5)
        a_bye = a.bye_from_server()
        a_200s = sum(1 for _, m in a.sip.messages if m.status == 200)
        a_back = sum(m.size for _, m in a.sip.messages)
        c_bye = c_call.bye_from_server()
        c_sent = c_call.sip.sent_bytes
        before_latch = [p for p in victim_c.packets if p.at < first_rtp + 0.1]
        after_latch = [p for p in victim_c.packets if p.at >= first_rtp + 0.1]
        d_caller_got = len(d_call.rtp.packets)
        e_got = [p for p in victim_e.packets if p.at > a_sent]
        f_got = [p for p in victim_f.packets if p.at > a_sent]
        f_sip = sum(m.size for _, m in f.sip.messages)
        f_200s = sum(1 for _, m in f.sip.messages if m.status == 200)
        e_back = sum(m.size for _, m in e.sip.messages)
        e_bye = e.bye_from_server()
    finally:
        for o in opened:
            o.close()
        await in_thread(server.stop)

    va = victim_a.packets
    amplification_a = victim_a.received_bytes / len(invite)
    bye_a = f"BYE after {a_bye - a_sent:.1f} s" if a_bye else "no BYE within 36 s"
    vb = victim_b.packets
    span_b = (vb[-1].at - vb[0].at) if vb else 0.0
    bye_c = f"server BYE {c_bye - c_acked:.1f} s after the ACK" if c_bye else "no BYE in 36 s"
    amp_c = victim_b.received_bytes / max(1, c_sent)
    now_a = (
        f"never-ACKed INVITE ({len(invite)} B) naming 127.0.0.3: the victim got {len(va)} "
        f"packets / {victim_a.received_bytes} B in 36 s (amplification "
        f"{amplification_a:.1f}x); the server gave up: {bye_a} (to the INVITE's own "
        f"source: {a_200s} 200 retransmissions, {a_back} B, RFC 3261 Timer G/H); c= "
        + ", ".join(f"{h}: {s}" for h, s in bad.items())
    )
    ok_a = not va and all(s == "488" for s in bad.values()) and a_bye is not None
    e_sent = len(e_invite) + len(e_ack)
    e_bytes = sum(p.size for p in e_got)
    f_sent = len(f_invite) + len(f_ack)
    f_bytes = sum(p.size for p in f_got)
    f_ratio = (f_bytes + f_sip) / f_sent
    e_end = f"server BYE {e_bye - a_sent:.0f} s later" if e_bye else "no BYE in 36 s"
    now_c = (
        f"ACKed call naming the victim, never sending RTP: {len(vb)} packets / "
        f"{victim_b.received_bytes} B reached the victim over {span_b:.1f} s ({bye_c}); the "
        f"attacker sent {c_sent} B of SIP: {amp_c:.0f}x. A caller sending RTP 0.5 s after "
        f"its ACK from its own address (SDP naming the victim): {len(before_latch)} packets "
        f"to the victim before its first RTP, {len(after_latch)} after; it heard "
        f"{d_caller_got} packets itself. Blind ACK (no To tag) from 127.0.0.9 for an INVITE "
        f"from 127.0.0.8 naming the victim, nothing read ({e_sent} B): the victim got "
        f"{len(e_got)} packets / {e_bytes} B; the ACK was dropped, the INVITE's source got "
        f"{e_back} B of SIP ({e_end}). The same with the INVITE's source forged as the "
        f"victim (SDP host = SIP source): {len(f_got)} RTP packets / {f_bytes} B plus "
        f"{f_sip} B of SIP ({f_200s} 200s: RFC 3261's retransmissions of an un-ACKed 2xx) "
        f"reached it, {f_ratio:.1f}x of {f_sent} B; at most {PENDING_PER_SOURCE} such calls "
        f"per address at once: about {PENDING_PER_SOURCE * (f_bytes + f_sip) / 32:.0f} B/s "
        "per victim address"
    )
    rtp_leak = bool(vb or before_latch or after_latch or e_got or f_got)
    sev_c: Severity = "none"
    if rtp_leak:
        sev_c = "high" if max(amp_c, e_bytes / e_sent, f_bytes / f_sent) > 10 else "medium"
    elif f_ratio > 1 or d_caller_got == 0:
        # SIP's own 2xx retransmissions (bounded per address), or a legitimate phone
        # behind NAT that no longer hears the IVR
        sev_c = "low" if d_caller_got else "medium"
    return [
        Finding(
            "SIP: INVITE whose SDP names another address, never ACKed; multicast/broadcast SDP",
            "513-byte INVITE -> 1,461 RTP packets (251 KB) to that address over 29 s: 490x "
            "amplifier; multicast and broadcast answered 200 OK",
            now_a,
            "none" if ok_a else "high",
        ),
        Finding(
            "SIP: ACKed call whose SDP names another address; blind ACK from a forged source",
            "(rerun finding: a blind ACK confirmed the call, 276x; an ACKed caller aimed the "
            "IVR's prompt elsewhere, 206x)",
            now_c,
            sev_c,
        ),
    ]
