"""A separate process that acts as many phones: every 20 ms it sends one G.711 RTP packet
to each leg port it was given (a 440 Hz tone from the talkers, silence from the rest, as
in a real call where one talks) and reads whatever comes back.

Usage: python -m bench.loadgen HOST PORTS SECONDS [--talk-every N]
           [--talkers-per-room K --room-size N] [--probe A,B]

PORTS is a comma-separated list of the server's ports, one per phone. It may be ``-``
when the server needs our ports first (Janus does): then ``--legs N`` says how many
phones, the JSON line with our addresses is printed first, and one line of
comma-separated target ports (the same count, in the same order) is read from stdin
before sending starts.

Talkers: by default phone i talks when i % 10 == 0 (``--talk-every``); with
``--talkers-per-room K --room-size N`` the first K phones of every room of N talk.

``--probe A,B`` measures the phone-to-phone delay through the server (A and B in the
same room): every ~500 ms phone A sends a click (5 ms of a loud tone at the start of an
otherwise silent frame; A is silent otherwise, so the onset is unambiguous), and phone B
decodes what comes back and finds the click's onset (the first loud sample after a quiet
stretch). Delay = arrival of the packet carrying the onset + the onset's offset in it -
the click packet's send time. B's socket is watched between ticks, so arrival times are
known to well under a millisecond.

Prints one JSON line with our addresses, then one at the end: packets sent and received
after the first ``--warmup`` seconds (while the server fills its buffers) and, with
--probe, the delay's p50/p99 in ms and the number of clicks found.
"""

from __future__ import annotations

import argparse
import json
import random
import select
import socket
import struct
import sys
import time

import numpy as np

from confero.media.g711 import PCMU
from confero.media.rtp import RtpPacket
from confero.media.tone import sine

FRAME = 160  # 20 ms at 8 kHz
CLICK_EVERY = 25  # ticks: 500 ms
CLICK_SAMPLES = 40  # 5 ms
CLICK_LEVEL = 3000  # decoded sample magnitude that counts as the click's onset
QUIET_SAMPLES = 1600  # 200 ms below the level before an onset counts


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.loadgen")
    p.add_argument("host")
    p.add_argument("ports", help="PORT[,PORT...], or - to read them from stdin")
    p.add_argument("seconds", type=float)
    p.add_argument("--legs", type=int, help="how many phones when PORTS is -")
    p.add_argument("--talk-every", type=int, default=10)
    p.add_argument("--talkers-per-room", type=int)
    p.add_argument("--room-size", type=int, default=10)
    p.add_argument("--probe", help="A,B: phone A clicks, phone B times the click's arrival")
    p.add_argument(
        "--warmup",
        type=float,
        default=0.0,
        help="seconds at the start left out of the sent/received counts",
    )
    args = p.parse_args(argv)
    if args.ports == "-" and not args.legs:
        p.error("PORTS - needs --legs N")
    return args


def talks(i: int, args: argparse.Namespace) -> bool:
    if args.talkers_per_room is not None:
        return bool(i % args.room_size < args.talkers_per_room)
    return bool(i % args.talk_every == 0)


class OnsetDetector:
    """Decodes phone B's packets and finds click onsets after a quiet stretch."""

    def __init__(self) -> None:
        self.quiet = 0  # samples since the last loud one
        self.onsets: list[float] = []  # monotonic time of each onset

    def feed(self, data: bytes, arrival: float) -> None:
        try:
            packet = RtpPacket.parse(data)
        except ValueError:
            return
        if packet.payload_type != 0:
            return
        samples = np.abs(PCMU.decode(packet.payload).astype(np.int32))
        loud = np.flatnonzero(samples >= CLICK_LEVEL)
        if loud.size == 0:
            self.quiet += samples.size
            return
        first = int(loud[0])
        if self.quiet + first >= QUIET_SAMPLES:
            self.onsets.append(arrival + first / 8000)
        self.quiet = samples.size - 1 - int(loud[-1])


def delays_ms(clicks: list[float], onsets: list[float]) -> list[float]:
    """Pairs each onset with the latest click sent before it."""
    out = []
    for onset in onsets:
        sent = [c for c in clicks if c <= onset]
        if sent and onset - sent[-1] < CLICK_EVERY * 0.02:
            out.append((onset - sent[-1]) * 1000)
    return out


def main(argv: list[str] | None = None) -> None:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    host = args.host
    count = args.legs if args.ports == "-" else len(args.ports.split(","))
    socks = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 18)
        s.bind((host, 0))
        s.setblocking(False)
        socks.append(s)
    print(json.dumps({"addresses": [s.getsockname()[1] for s in socks]}), flush=True)
    if args.ports == "-":
        ports = [int(p) for p in sys.stdin.readline().strip().split(",")]
    else:
        ports = [int(p) for p in args.ports.split(",")]
    if len(ports) != count:
        sys.exit(f"loadgen: {len(ports)} target ports for {count} phones")

    tone = PCMU.encode(sine(440, 0.02, 8000, amplitude=6000).astype(np.int16))
    quiet = PCMU.encode(np.zeros(FRAME, np.int16))
    click_pcm = np.zeros(FRAME, np.int16)
    click_pcm[:CLICK_SAMPLES] = sine(1000, CLICK_SAMPLES / 8000, 8000, amplitude=16000).astype(
        np.int16
    )[:CLICK_SAMPLES]
    click = PCMU.encode(click_pcm)
    payloads = [tone if talks(i, args) else quiet for i in range(count)]
    probe_a = probe_b = -1
    detector = OnsetDetector()
    clicks: list[float] = []
    if args.probe:
        probe_a, probe_b = (int(x) for x in args.probe.split(","))
        payloads[probe_a] = quiet

    # The RTP header is packed here rather than with RtpSender: at 400 phones a tick has
    # to fit well inside 20 ms on one core, with the mix to read back as well.
    header = struct.Struct("!BBHII")
    ssrcs = [random.getrandbits(32) for _ in range(count)]
    poller = select.epoll()
    by_fd: dict[int, int] = {}
    for i, s in enumerate(socks):
        poller.register(s.fileno(), select.EPOLLIN)
        by_fd[s.fileno()] = i

    sent = received = late = 0
    start = time.monotonic()
    counting = args.warmup <= 0
    tick = 0
    targets = [(host, port) for port in ports]

    def drain(ready: list[tuple[int, int]]) -> int:
        n = 0
        for fd, _ in ready:
            i = by_fd[fd]
            s = socks[i]
            while True:
                try:
                    data = s.recv(2048)
                except BlockingIOError:
                    break
                n += 1
                if i == probe_b:
                    detector.feed(data, time.monotonic())
        return n

    while (now := time.monotonic()) - start < args.seconds:
        if not counting and now - start >= args.warmup:
            counting = True
            sent = received = late = 0
        if now - (start + tick * 0.02) > 0.005:
            late += 1
        seq = tick & 0xFFFF
        ts = (tick * FRAME) & 0xFFFFFFFF
        marker = 0x80 if tick == 0 else 0
        clicking = tick % CLICK_EVERY == CLICK_EVERY - 1
        for i, s in enumerate(socks):
            payload = payloads[i]
            if i == probe_a and clicking:
                payload = click
                clicks.append(time.monotonic())
            s.sendto(header.pack(0x80, marker, seq, ts, ssrcs[i]) + payload, targets[i])
        sent += count
        received += drain(poller.poll(0))
        tick += 1
        deadline = start + tick * 0.02
        while (delay := deadline - time.monotonic()) > 0:
            received += drain(poller.poll(delay))
    result: dict[str, float | int] = {
        "sent": sent,
        "received": received,
        "seconds": now - start,
        "loadgen_late_ticks": late,
    }
    if args.probe:
        d = delays_ms(clicks, detector.onsets)
        result["probe_clicks"] = len(clicks)
        result["probe_count"] = len(d)
        if d:
            result["probe_p50_ms"] = round(float(np.percentile(d, 50)), 1)
            result["probe_p99_ms"] = round(float(np.percentile(d, 99)), 1)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
