"""What a legitimate user sees of the server while it is attacked: SIP OPTIONS from
127.0.0.1 every 100 ms (round trips, unanswered) and ``/api/health`` every 250 ms
(status, time), each until its ``stop`` event is set."""

from __future__ import annotations

import asyncio
import secrets
import time

import httpx

from soak.attacks.sip_client import Udp, branch, build
from soak.attacks.sip_room import ACCESS_NUMBER
from soak.server import Server


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def options_pinger(server: Server, stop: asyncio.Event) -> tuple[list[float], int]:
    """OPTIONS from 127.0.0.1 every 100 ms: round trips (s) and the unanswered count."""
    sock = await Udp.open("127.0.0.1")
    rtts: list[float] = []
    lost = 0
    try:
        while not stop.is_set():
            began = time.monotonic()
            call_id = secrets.token_hex(6)
            host, port = sock.address
            data = build(
                f"OPTIONS sip:{ACCESS_NUMBER}@127.0.0.1:{server.sip_port} SIP/2.0",
                [
                    ("Via", f"SIP/2.0/UDP {host}:{port};branch={branch()};rport"),
                    ("From", f"<sip:ping@{host}>;tag=p{call_id}"),
                    ("To", f"<sip:{ACCESS_NUMBER}@127.0.0.1>"),
                    ("Call-ID", call_id),
                    ("CSeq", "1 OPTIONS"),
                    ("Max-Forwards", "70"),
                ],
            )
            sock.send(data, ("127.0.0.1", server.sip_port))

            def answered(cid: str = call_id) -> bool:
                return any(m.header("call-id") == cid for _, m in sock.messages[-20:])

            if await sock.wait(answered, 2.0):
                rtts.append(time.monotonic() - began)
            else:
                lost += 1
            await asyncio.sleep(max(0.0, 0.1 - (time.monotonic() - began)))
    finally:
        sock.close()
    return rtts, lost


async def health_poller(server: Server, stop: asyncio.Event) -> list[tuple[int, float]]:
    """``/api/health`` every 250 ms: (status or 0 for a failure, seconds)."""
    out: list[tuple[int, float]] = []
    async with httpx.AsyncClient(timeout=10) as http:
        while not stop.is_set():
            began = time.monotonic()
            try:
                status = (await http.get(f"{server.base}/api/health")).status_code
            except httpx.HTTPError:
                status = 0
            out.append((status, time.monotonic() - began))
            await asyncio.sleep(max(0.0, 0.25 - (time.monotonic() - began)))
    return out
