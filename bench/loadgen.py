"""A separate process that acts as many phones: every 20 ms it sends one G.711 RTP packet
to each leg port it was given (a 440 Hz tone from every 10th phone, silence from the
rest, as in a real call where one talks) and reads whatever comes back.

Usage: python -m bench.loadgen HOST PORT[,PORT...] SECONDS
Prints one JSON line: packets sent and received.
"""

from __future__ import annotations

import json
import socket
import sys
import time

import numpy as np

from confero.media.g711 import PCMU
from confero.media.rtp import RtpSender
from confero.media.tone import sine


def main() -> None:
    host, ports_arg, seconds_arg = sys.argv[1:4]
    ports = [int(p) for p in ports_arg.split(",")]
    seconds = float(seconds_arg)
    socks, senders = [], []
    for _ in ports:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, 0))
        s.setblocking(False)
        socks.append(s)
        senders.append(RtpSender(0))
    tone = PCMU.encode(sine(440, 0.02, 8000, amplitude=6000).astype(np.int16))
    quiet = PCMU.encode(np.zeros(160, np.int16))
    print(json.dumps({"addresses": [s.getsockname()[1] for s in socks]}), flush=True)
    sent = received = 0
    start = time.monotonic()
    tick = 0
    while (now := time.monotonic()) - start < seconds:
        for i, (s, port) in enumerate(zip(socks, ports, strict=True)):
            payload = tone if i % 10 == 0 else quiet
            s.sendto(senders[i].next(payload, 160).to_bytes(), (host, port))
            sent += 1
            while True:
                try:
                    s.recv(2048)
                except BlockingIOError:
                    break
                received += 1
        tick += 1
        delay = start + tick * 0.02 - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    print(json.dumps({"sent": sent, "received": received, "seconds": now - start}), flush=True)


if __name__ == "__main__":
    main()
