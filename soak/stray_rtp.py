"""Stray RTP, as a test run's other processes send it (docs/RELIABILITY.md, "Stray RTP
takes a silent caller's leg"): streams from one address that hop over the ephemeral
ports, a few packets in sequence on each, so that any leg or softphone bound on that
host meets one within seconds. Run it beside a suite to see whether a stranger's stream
can take a leg over (the RTP-bleed rule in ``confero.media.rtp``).

Usage: python -m soak.stray_rtp [--streams N] [--seconds S] [--source ADDRESS]
"""

from __future__ import annotations

import argparse
import random
import socket
import struct
import time

#: Linux's default ephemeral range (``net.ipv4.ip_local_port_range``).
PORTS = (32768, 60999)
#: Packets each stream sends in sequence to a port before it hops (two pass probation).
DWELL = 3


def spray(streams: int, seconds: float, source: str, target: str = "127.0.0.1") -> int:
    """Send PCMU-sized packets, one per stream every 20 ms; returns how many were sent."""
    socks = []
    for _ in range(streams):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind((source, 0))
        sock.setblocking(False)
        socks.append(sock)
    ssrcs = [random.getrandbits(32) for _ in range(streams)]
    ports = [random.randrange(*PORTS) for _ in range(streams)]
    payload = b"\xff" * 160
    sent, rounds = 0, 0
    end = time.monotonic() + seconds
    while (started := time.monotonic()) < end:
        rounds += 1
        sequence = rounds & 0xFFFF
        header = struct.pack("!BBHI", 0x80, 0, sequence, sequence * 160 & 0xFFFFFFFF)
        for i, sock in enumerate(socks):
            if rounds % DWELL == 0:
                ports[i] = random.randrange(*PORTS)
            try:
                sock.sendto(header + struct.pack("!I", ssrcs[i]) + payload, (target, ports[i]))
                sent += 1
            except OSError:
                pass
        time.sleep(max(0.0, 0.02 - (time.monotonic() - started)))
    for sock in socks:
        sock.close()
    return sent


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m soak.stray_rtp")
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--source", default="127.0.0.1")
    args = parser.parse_args()
    print("sent", spray(args.streams, args.seconds, args.source))


if __name__ == "__main__":
    main()
