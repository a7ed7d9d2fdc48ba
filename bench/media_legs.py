"""How many G.711 phone legs one core mixes in real time.

The server side (this process, on uvloop) runs the real media engine with conferences
of 10 RTP legs on UDP; ``bench.loadgen`` in its own process plays the phones. For each
leg count it reports the share of ticks that started more than 5 ms late, the server
process's CPU use, and resident memory per leg. "Legs per core" is the largest count
whose late ticks stay under 1% and CPU under 80% of one core.

Usage: python -m bench.media_legs [COUNTS] [SECONDS] [--json] [--pin-loadgen CORE]
           [--room-size N] [--talk-every N] [--talkers-per-room K] [--probe A,B]
           [--warmup S] [--workers N]
``--json`` prints one JSON result line per step instead of the text line;
``--pin-loadgen`` runs the load generator under ``taskset -c CORE``; the talker, probe
and warm-up options go to ``bench.loadgen`` (see there). ``bench.side_by_side`` uses
all of these. ``--workers N`` mixes in N media worker processes (issue 15 P4,
``CONFERO_MEDIA_WORKERS``) as a node does: the legs are opened here and handed over, the
CPU counted is this process's and the workers' together, the late ticks the workers'.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from confero.heap import settle_heap
from confero.media.g711 import PCMU
from confero.media.leg import RtpAudioLeg
from confero.media.workers.pool import NodeMedia, node_media

HOST = "127.0.0.1"
PER_ROOM = 10


@dataclass
class Result:
    legs: int
    seconds: float
    late_share: float
    max_late_ms: float
    cpu_share: float
    tick_ms: float
    rss_mb: float
    received_share: float
    room_size: int = PER_ROOM
    loadgen: dict[str, float] = field(default_factory=dict)  # probe figures, late ticks


def _rss_mb(pid: str = "self") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds(pids: list[int]) -> float:
    """User + system seconds of this process and ``pids`` (running children)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    total = own.ru_utime + own.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


async def run(
    legs: int,
    seconds: float,
    room_size: int = PER_ROOM,
    loadgen_args: list[str] | None = None,
    pin_loadgen: str | None = None,
    workers: int = 0,
) -> Result:
    engine = node_media(workers)
    engine.start()  # workers start up (the tick's figures are taken from below)
    await engine.wait_ready()
    pids = [w.process.pid for w in engine.workers] if isinstance(engine, NodeMedia) else []
    opened: list[Any] = []
    for i in range(legs):
        leg = RtpAudioLeg(f"leg{i}", PCMU)
        await leg.open(HOST)
        engine.add_leg(f"room{i // room_size}", leg)
        opened.append(engine.handed_over(leg))
    pin = ["taskset", "-c", pin_loadgen] if pin_loadgen is not None else []
    proc = await asyncio.create_subprocess_exec(
        *pin,
        sys.executable,
        "-m",
        "bench.loadgen",
        HOST,
        ",".join(str(leg.local_port) for leg in opened),
        str(seconds),
        "--room-size",
        str(room_size),
        *(loadgen_args or []),
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = json.loads(await proc.stdout.readline())
    for leg, port in zip(opened, first["addresses"], strict=True):
        leg.set_remote((HOST, port))
    settle_heap()  # as ``confero serve`` does once it runs
    await asyncio.sleep(0.6)  # the jitter buffers fill; the workers report their clocks
    clock = engine.clock
    cpu0 = _cpu_seconds(pids)
    wall0 = time.monotonic()
    ticks0, late0, busy0 = clock.ticks, clock.late, clock.busy
    engine.stats.max_late = 0.0
    last = json.loads(await proc.stdout.readline())
    await proc.wait()
    wall = time.monotonic() - wall0
    cpu1 = _cpu_seconds(pids)
    if pids:
        await asyncio.sleep(0.6)  # the workers' last report
    ticks = clock.ticks - ticks0
    result = Result(
        legs=legs,
        seconds=round(wall, 1),
        late_share=(clock.late - late0) / max(ticks, 1),
        max_late_ms=clock.max_late * 1000,
        cpu_share=(cpu1 - cpu0) / wall,
        tick_ms=(clock.busy - busy0) / max(ticks, 1) * 1000,
        rss_mb=_rss_mb() + sum(_rss_mb(str(pid)) for pid in pids),
        received_share=last["received"] / max(last["sent"], 1),
        room_size=room_size,
        loadgen={k: v for k, v in last.items() if k not in ("sent", "received", "seconds")},
    )
    await engine.stop()
    for leg in opened:
        leg.close()
    return result


async def main(
    counts: list[int],
    seconds: float,
    *,
    as_json: bool = False,
    room_size: int = PER_ROOM,
    loadgen_args: list[str] | None = None,
    pin_loadgen: str | None = None,
    workers: int = 0,
) -> None:
    base_rss = _rss_mb()
    results = []
    for legs in counts:
        r = await run(legs, seconds, room_size, loadgen_args, pin_loadgen, workers)
        results.append(r)
        if as_json:
            print(json.dumps(asdict(r)), flush=True)
            continue
        print(
            f"{r.legs:5d} legs: late ticks {r.late_share:6.2%}  max late {r.max_late_ms:6.1f} ms"
            f"  cpu {r.cpu_share:6.1%}  tick {r.tick_ms:6.2f} ms"
            f"  rss {r.rss_mb:6.1f} MB  returned {r.received_share:6.1%}",
            flush=True,
        )
    if as_json:
        return
    ok = [r for r in results if r.late_share < 0.01 and r.cpu_share < 0.8]
    if ok:
        best = max(ok, key=lambda r: r.legs)
        per_leg_kb = (best.rss_mb - base_rss) * 1024 / best.legs
        where = f"node with {workers} media workers" if workers else "core"
        print(f"legs per {where} in real time: {best.legs} (memory ~{per_leg_kb:.0f} KiB per leg)")
    else:
        print("no leg count stayed real time")


if __name__ == "__main__":
    import uvloop

    p = argparse.ArgumentParser(prog="python -m bench.media_legs")
    p.add_argument("counts", nargs="?", default="10,50,100,200")
    p.add_argument("seconds", nargs="?", type=float, default=10.0)
    p.add_argument("--json", action="store_true", help="one JSON result line per step")
    p.add_argument("--pin-loadgen", metavar="CORE", help="run the load generator on CORE")
    p.add_argument("--room-size", type=int, default=PER_ROOM)
    p.add_argument("--talk-every", type=int)
    p.add_argument("--talkers-per-room", type=int)
    p.add_argument("--probe", metavar="A,B")
    p.add_argument("--warmup", type=float, help="seconds the loadgen leaves out of its counts")
    p.add_argument("--workers", type=int, default=0, help="media worker processes")
    a = p.parse_args()
    extra: list[str] = []
    for name in ("talk_every", "talkers_per_room", "probe", "warmup"):
        if (value := getattr(a, name)) is not None:
            extra += ["--" + name.replace("_", "-"), str(value)]
    uvloop.run(
        main(
            [int(x) for x in a.counts.split(",")],
            a.seconds,
            as_json=a.json,
            room_size=a.room_size,
            loadgen_args=extra,
            pin_loadgen=a.pin_loadgen,
            workers=a.workers,
        )
    )
