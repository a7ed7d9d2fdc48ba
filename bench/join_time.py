"""Join time, browser and phone, against the framework's own floor (issue 17, deliverable 4).

Targets: from the click on Join in Chromium to the first remote audio packet, p50 under
1 s on loopback; from a phone's 200 OK to the first packet of its welcome prompt, under
100 ms.

**Browser.** A real ``confero serve`` is pinned to core 0. One participant is already in
the room, talking: an aiortc peer of ``bench.browser_load`` (a 440 Hz tone every 20 ms),
pinned to core 1. Debian's Chromium (``/usr/bin/chromium``, driven by Playwright, the
flags of tests/e2e/chromium.py: fake camera and microphone, no prompts), also on core 1,
opens the room's invite link as a guest in a fresh context each time, waits for the
Join button, types a name and clicks Join. The page itself times it: a capture-phase
listener takes ``performance.now()`` at the click, and a loop polls the page's publish
connection (``window.confero.publishPc``, which main.js exposes for tests) with
``getStats()`` every 5 ms until its ``inbound-rtp`` audio has ``packetsReceived > 0``.
So the figure covers the page's own work (getUserMedia, the socket's ``join`` and
``welcome``, the offer with ICE gathering, the answer, ICE, DTLS) and the server's
(joining the conference, the mixer leg, the peer connection) up to the first packet of
the room's mix. The page then closes; the next trial is a new guest.

Baseline, the same run: ``bench.join_baseline``, a trivial FastAPI app with one page that
does the least a page can (getUserMedia, an offer with ICE gathering complete over a
WebSocket, an aiortc answerer that sends a tone), timed the same way from its button's
click: what Chromium, aiortc and the loopback need whatever the application does.

**Phone.** A small SIP caller (UDP, in this process on core 1) calls the access number:
INVITE with a PCMU offer, the 200 OK timed when its datagram arrives, ACK, then the time
of the first RTP datagram on the caller's media port (the welcome prompt), then BYE.
``--calls`` calls one after the other. Baseline: the same caller against a trivial
asyncio UAS in this process (``FloorUas``) that answers 200 OK and sends the first RTP
packet at once: the caller's and loopback's own floor.

Skipped with a message (exit 0) without Chromium or Playwright (the phone part still
runs) or with ``--no-browser``.

Usage: python -m bench.join_time [--trials 10] [--calls 20] [--server-core 0]
       [--client-core 1] [--no-browser] [--no-phone] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soak.server import Server, end_process
from tests.e2e.chromium import CHROMIUM, FLAGS  # the browser exactly as the tests run it

from bench import web_baseline
from bench.browser_legs import Load

OWNER = "join@confero.test"
ACCESS_NUMBER = "5000"
BROWSER_TARGET_MS = 1000.0
PHONE_TARGET_MS = 100.0

#: Every page: the time of the click on Join (capture phase: before the page's handler).
CLICK_JS = """
document.addEventListener('click', (e) => {
  if (e.target && e.target.closest && e.target.closest('#join, #go')) {
    window.__joinClickAt = performance.now();
  }
}, true);
"""

#: Milliseconds from the click to the first remote audio packet on the page's
#: connection (``pc`` names it), polling getStats every 5 ms; -1 after 20 s.
FIRST_PACKET_JS = """
async (pcExpr) => {
  const t0 = window.__joinClickAt;
  const pcOf = new Function('return ' + pcExpr);
  while (performance.now() - t0 < 20000) {
    const pc = pcOf();
    if (pc) {
      let got = 0;
      (await pc.getStats()).forEach(s => {
        if (s.type === 'inbound-rtp' && s.kind === 'audio') got += s.packetsReceived || 0;
      });
      if (got > 0) return performance.now() - t0;
    }
    await new Promise(r => setTimeout(r, 5));
  }
  return -1;
}
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(value: float) -> str:
    return f"{value:.2f}" if value < 1.0 else f"{value:.1f}"


@dataclass
class Figure:
    name: str
    times_ms: list[float]
    tries: int
    target_ms: float
    notes: str = ""

    def row(self, baseline: Figure | None) -> str:
        p50 = pct(self.times_ms, 0.5)
        ratio, over = "1.00", ""
        if baseline is not None:
            floor = pct(baseline.times_ms, 0.5)
            ratio = f"{p50 / floor:.2f}" if floor >= 1.0 else "(floor under 1 ms)"
            over = f"{p50 - floor:+.1f}"
        target = "" if self.target_ms <= 0 else f"< {self.target_ms:.0f} ms"
        met = "" if self.target_ms <= 0 else (" met" if p50 < self.target_ms else " NOT met")
        low = min(self.times_ms, default=float("nan"))
        high = max(self.times_ms, default=float("nan"))
        p99 = pct(self.times_ms, 0.99)
        return (
            f"| {self.name} | {len(self.times_ms)}/{self.tries} | {ms(p50)} | {ms(p99)} "
            f"| {ms(low)} | {ms(high)} | {ratio} | {over} | {target}{met} |"
        )


HEADER = (
    "| join | done | p50 ms | p99 ms | min ms | max ms | p50 / baseline p50 "
    "| p50 - baseline p50 (ms) | target (p50) |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
)


# ---------------------------------------------------------------- browser


def chromium_ready() -> str | None:
    """Why the browser part cannot run, or None."""
    if not os.access(CHROMIUM, os.X_OK):
        return f"{CHROMIUM} is not installed (scripts/system-deps.sh test)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


def pinned_chromium(workdir: Path, core: int | None) -> str:
    """Chromium, pinned to ``core`` with taskset through a wrapper script."""
    if core is None or shutil.which("taskset") is None:
        return CHROMIUM
    wrapper = workdir / "chromium-pinned"
    wrapper.write_text(f'#!/bin/sh\nexec taskset -c {core} {CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return str(wrapper)


async def time_joins(
    url: str, trials: int, executable: str, *, click: str, pc_expr: str, name: str | None
) -> tuple[list[float], list[str]]:
    """``trials`` fresh pages of ``url``: the ms from the click on ``click`` to the first
    remote audio packet of ``pc_expr``."""
    from playwright.async_api import async_playwright

    times: list[float] = []
    problems: list[str] = []
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            for n in range(trials + 1):  # the first is a warm-up (caches, the first DTLS)
                context = await browser.new_context()
                try:
                    page = await context.new_page()
                    page.on("pageerror", lambda exc: problems.append(str(exc)))
                    await page.add_init_script(CLICK_JS)
                    await page.goto(url)
                    await page.wait_for_selector(f"{click}:not([disabled])", timeout=20_000)
                    if name is not None:
                        await page.fill("#name", f"{name} {n}")
                    await asyncio.sleep(0.3)  # the page settles (its socket's hello)
                    await page.click(click)
                    took = await page.evaluate(FIRST_PACKET_JS, pc_expr)
                    if took < 0:
                        problems.append(f"trial {n}: no audio packet within 20 s")
                    elif n > 0:
                        times.append(float(took))
                finally:
                    await context.close()
                await asyncio.sleep(0.5)
        finally:
            await browser.close()
    return times, problems


def browser_figures(workdir: Path, args: argparse.Namespace) -> list[Figure]:
    why = chromium_ready()
    if why is not None:
        print(f"join_time: browser part skipped, {why}", flush=True)
        return []
    executable = pinned_chromium(workdir, args.client_core)
    figures: list[Figure] = []

    # the framework's floor
    process, port = web_baseline.serve(
        "bench.join_baseline:app", args.server_core, workdir / "join-baseline.log"
    )
    try:
        times, problems = asyncio.run(
            time_joins(
                f"http://127.0.0.1:{port}/",
                args.trials,
                executable,
                click="#go",
                pc_expr="window.pc",
                name=None,
            )
        )
        for p in problems[:3]:
            print(f"join_time: baseline: {p}", flush=True)
        figures.append(Figure("baseline: bare page, aiortc answerer", times, args.trials, 0))
    finally:
        end_process(process, 10)

    server = Server(
        workdir / "server-browser",
        env={"CONFERO_SIP_ENABLED": "false", "CONFERO_RESUME_GRACE": "1"},
        cpu=args.server_core,
    )
    server.create_owner(OWNER)
    server.start()
    load: Load | None = None
    try:
        with server.api(OWNER) as web:
            made = web.post("/api/v1/rooms", json={"name": "Join time"})
            made.raise_for_status()
            invite_url = made.json()["invite_url"]
        invite = invite_url.rsplit("/join/", 1)[1]
        rooms = workdir / "rooms.json"
        rooms.write_text(
            json.dumps([server.base.replace("http", "ws", 1) + f"/ws/v1/join/{invite}"])
        )
        load = Load(
            rooms, 1, 0, 10, args.client_core, workdir / "talker.log", extra=["--talk-every", "1"]
        )
        load.start()
        load.expect("ready", 60)
        times, problems = asyncio.run(
            time_joins(
                f"{server.base}/join/{invite}",
                args.trials,
                executable,
                click="#join",
                pc_expr="window.confero && window.confero.publishPc",
                name="Guest",
            )
        )
        for p in problems[:3]:
            print(f"join_time: Confero: {p}", flush=True)
        figures.append(
            Figure(
                "Confero: click on Join to first audio packet",
                times,
                args.trials,
                BROWSER_TARGET_MS,
            )
        )
        if server.tracebacks():
            print(f"join_time: the server logged tracebacks:\n{server.log()}", flush=True)
    finally:
        if load is not None:
            load.stop()
        server.stop()
    return figures


# ------------------------------------------------------------------ phone


class _Sip(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.inbox: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.inbox.put_nowait((time.monotonic(), data))


class _Rtp(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.first: asyncio.Future[float] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not self.first.done() and len(data) >= 12 and data[0] >> 6 == 2:
            self.first.set_result(time.monotonic())


def _header(message: bytes, name: str) -> str:
    for line in message.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
        key, _, value = line.decode(errors="replace").partition(":")
        if key.strip().lower() == name.lower():
            return value.strip()
    return ""


@dataclass
class SipCaller:
    """INVITE (PCMU offer), 200 OK, ACK, first RTP, BYE: one call over UDP."""

    server: tuple[str, int]
    number: str
    sip: _Sip | None = None
    transport: asyncio.DatagramTransport | None = None
    port: int = 0
    calls: int = 0
    problems: list[str] = field(default_factory=list)

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(_Sip, local_addr=("127.0.0.1", 0))
        self.transport, self.sip = transport, protocol
        self.port = transport.get_extra_info("sockname")[1]

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    def _send(self, text: str) -> None:
        assert self.transport is not None
        self.transport.sendto(text.encode(), self.server)

    def _request(
        self, method: str, uri: str, call_id: str, cseq: int, to: str, body: str = ""
    ) -> str:
        branch = "z9hG4bK" + secrets.token_hex(8)
        extra = "Content-Type: application/sdp\r\n" if body else ""
        return (
            f"{method} {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP 127.0.0.1:{self.port};branch={branch};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:bench@127.0.0.1>;tag={self._tag}\r\n"
            f"To: {to}\r\n"
            f"Call-ID: {call_id}\r\n"
            f"CSeq: {cseq} {method}\r\n"
            f"Contact: <sip:bench@127.0.0.1:{self.port}>\r\n"
            f"{extra}Content-Length: {len(body.encode())}\r\n\r\n{body}"
        )

    _tag = "bench"

    async def call(self) -> float | None:
        """One call: ms from the 200 OK to the first RTP datagram; None if it failed."""
        assert self.sip is not None
        loop = asyncio.get_running_loop()
        rtp_transport, rtp = await loop.create_datagram_endpoint(_Rtp, local_addr=("127.0.0.1", 0))
        rtp_port = rtp_transport.get_extra_info("sockname")[1]
        self.calls += 1
        self._tag = secrets.token_hex(4)
        call_id = f"{secrets.token_hex(8)}@bench"
        host, port = self.server
        uri = f"sip:{self.number}@{host}:{port}"
        to = f"<sip:{self.number}@{host}>"
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            f"m=audio {rtp_port} RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
            "a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"
        )
        try:
            self._send(self._request("INVITE", uri, call_id, 1, to, sdp))
            ok_at, ok = await self._final(call_id)
            if ok is None:
                return None
            to_tagged = _header(ok, "To")
            contact = _header(ok, "Contact").strip("<>").split(">")[0] or uri
            self._send(self._request("ACK", contact, call_id, 1, to_tagged))
            try:
                first = await asyncio.wait_for(rtp.first, 5)
            except TimeoutError:
                self.problems.append(f"call {self.calls}: no RTP within 5 s")
                first = None
            self._send(self._request("BYE", contact, call_id, 2, to_tagged))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._final(call_id, "BYE"), 5)
            return None if first is None else (first - ok_at) * 1000
        finally:
            rtp_transport.close()

    async def _final(self, call_id: str, method: str = "INVITE") -> tuple[float, bytes | None]:
        assert self.sip is not None
        while True:
            at, data = await asyncio.wait_for(self.sip.inbox.get(), 10)
            if _header(data, "Call-ID") != call_id or method not in _header(data, "CSeq"):
                continue
            status = data.split(b" ", 2)[1] if data.startswith(b"SIP/2.0") else b""
            if status.startswith(b"1"):
                continue
            if status == b"200":
                return at, data
            first_line = data.split(b"\r\n", 1)[0].decode(errors="replace")
            self.problems.append(f"call {self.calls}: {first_line}")
            return at, None


class FloorUas(asyncio.DatagramProtocol):
    """The floor: a UAS that answers every INVITE 200 OK and sends one RTP packet at
    once to the offer's media address (no IVR, no mixer, no prompt)."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        if not data.startswith(b"INVITE") and not data.startswith(b"BYE"):
            return  # ACK
        head = data.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        keep = [
            line
            for line in head[1:]
            if line.split(b":", 1)[0].strip().lower()
            in (b"via", b"from", b"to", b"call-id", b"cseq")
        ]
        keep = [line + b";tag=floor" if line.lower().startswith(b"to:") else line for line in keep]
        body = b""
        if data.startswith(b"INVITE"):
            body = (
                b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                b"m=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            )
        answer = b"SIP/2.0 200 OK\r\n" + b"\r\n".join(keep) + b"\r\n"
        if body:
            answer += b"Content-Type: application/sdp\r\n"
        answer += b"Content-Length: %d\r\n\r\n" % len(body) + body
        assert self.transport is not None
        self.transport.sendto(answer, addr)
        if data.startswith(b"INVITE"):
            sdp = data.split(b"\r\n\r\n", 1)[1].decode()
            media = next(
                int(line.split()[1]) for line in sdp.split("\r\n") if line.startswith("m=audio")
            )
            self.rtp.sendto(b"\x80\x00" + bytes(10) + bytes(160), ("127.0.0.1", media))


async def time_calls(
    server: tuple[str, int], number: str, calls: int
) -> tuple[list[float], list[str]]:
    caller = SipCaller(server, number)
    await caller.open()
    times: list[float] = []
    try:
        for n in range(calls + 1):  # the first is a warm-up
            took = await caller.call()
            if took is not None and n > 0:
                times.append(took)
            await asyncio.sleep(0.3)
    finally:
        caller.close()
    return times, caller.problems


async def floor_calls(calls: int) -> tuple[list[float], list[str]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(FloorUas, local_addr=("127.0.0.1", 0))
    try:
        port = transport.get_extra_info("sockname")[1]
        return await time_calls(("127.0.0.1", port), number=ACCESS_NUMBER, calls=calls)
    finally:
        transport.close()


def phone_figures(workdir: Path, args: argparse.Namespace) -> list[Figure]:
    if args.client_core is not None and shutil.which("taskset"):
        os.sched_setaffinity(0, {args.client_core})
    times, problems = asyncio.run(floor_calls(args.calls))
    figures = [Figure("baseline: trivial UAS, 200 OK then RTP", times, args.calls, 0)]
    server = Server(
        workdir / "server-phone",
        env={"CONFERO_ACCESS_NUMBER": ACCESS_NUMBER},
        cpu=args.server_core,
    )
    server.create_owner(OWNER)
    server.start()
    try:
        times, problems = asyncio.run(
            time_calls(("127.0.0.1", server.sip_port), ACCESS_NUMBER, args.calls)
        )
        for p in problems[:3]:
            print(f"join_time: phone: {p}", flush=True)
        figures.append(
            Figure(
                "Confero: phone, 200 OK to first prompt packet", times, args.calls, PHONE_TARGET_MS
            )
        )
        if server.tracebacks():
            print(f"join_time: the server logged tracebacks:\n{server.log()}", flush=True)
    finally:
        server.stop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.join_time")
    parser.add_argument("--trials", type=int, default=10, help="browser joins")
    parser.add_argument("--calls", type=int, default=20, help="phone calls")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--no-browser", action="store_true")
    parser.add_argument("--no-phone", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="confero-join-"))
    workdir.mkdir(parents=True, exist_ok=True)
    browser = [] if args.no_browser else browser_figures(workdir, args)
    phone = [] if args.no_phone else phone_figures(workdir, args)
    print(
        f"\nJoin time, server on core {args.server_core}, Chromium, the talker and the SIP "
        f"caller on core {args.client_core}; browser: {args.trials} joins, phone: "
        f"{args.calls} calls (after one warm-up each)"
    )
    print(HEADER)
    for group in (browser, phone):
        if group:
            base = group[0]
            print(base.row(None))
            for f in group[1:]:
                print(f.row(base))
    print(
        json.dumps(
            {
                f.name: {
                    "p50": round(pct(f.times_ms, 0.5), 1),
                    "p99": round(pct(f.times_ms, 0.99), 1),
                }
                for f in browser + phone
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
