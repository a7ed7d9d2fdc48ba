"""How many G.711 phone legs one core mixes in real time.

The server side (this process, on uvloop) runs the real media engine with conferences
of 10 RTP legs on UDP; ``bench.loadgen`` in its own process plays the phones. For each
leg count it reports the share of ticks that started more than 5 ms late, the server
process's CPU use, and resident memory per leg. "Legs per core" is the largest count
whose late ticks stay under 1% and CPU under 80% of one core.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import time
from dataclasses import dataclass

from confero.media.engine import MediaEngine
from confero.media.g711 import PCMU
from confero.media.leg import RtpAudioLeg

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


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def run(legs: int, seconds: float) -> Result:
    engine = MediaEngine()
    opened: list[RtpAudioLeg] = []
    for i in range(legs):
        leg = RtpAudioLeg(f"leg{i}", PCMU)
        await leg.open(HOST)
        engine.add_leg(f"room{i // PER_ROOM}", leg)
        opened.append(leg)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.loadgen",
        HOST,
        ",".join(str(leg.local_port) for leg in opened),
        str(seconds),
        stdout=subprocess.PIPE,
    )
    assert proc.stdout is not None
    first = json.loads(await proc.stdout.readline())
    for leg, port in zip(opened, first["addresses"], strict=True):
        leg.set_remote((HOST, port))
    await asyncio.sleep(0.5)  # let the jitter buffers fill
    engine.start()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    wall0 = time.monotonic()
    ticks0 = engine.stats.ticks
    late0 = engine.stats.late
    busy0 = engine.stats.busy
    engine.stats.max_late = 0.0
    last = json.loads(await proc.stdout.readline())
    await proc.wait()
    wall = time.monotonic() - wall0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    ticks = engine.stats.ticks - ticks0
    result = Result(
        legs=legs,
        seconds=round(wall, 1),
        late_share=(engine.stats.late - late0) / max(ticks, 1),
        max_late_ms=engine.stats.max_late * 1000,
        cpu_share=((cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)) / wall,
        tick_ms=(engine.stats.busy - busy0) / max(ticks, 1) * 1000,
        rss_mb=_rss_mb(),
        received_share=last["received"] / max(last["sent"], 1),
    )
    await engine.stop()
    for leg in opened:
        leg.close()
    return result


async def main(counts: list[int], seconds: float) -> None:
    base_rss = _rss_mb()
    results = []
    for legs in counts:
        r = await run(legs, seconds)
        results.append(r)
        print(
            f"{r.legs:5d} legs: late ticks {r.late_share:6.2%}  max late {r.max_late_ms:6.1f} ms"
            f"  cpu {r.cpu_share:6.1%}  tick {r.tick_ms:6.2f} ms"
            f"  rss {r.rss_mb:6.1f} MB  returned {r.received_share:6.1%}",
            flush=True,
        )
    ok = [r for r in results if r.late_share < 0.01 and r.cpu_share < 0.8]
    if ok:
        best = max(ok, key=lambda r: r.legs)
        per_leg_kb = (best.rss_mb - base_rss) * 1024 / best.legs
        print(f"legs per core in real time: {best.legs} (memory ~{per_leg_kb:.0f} KiB per leg)")
    else:
        print("no leg count stayed real time")


if __name__ == "__main__":
    import uvloop

    counts = [int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "10,50,100,200").split(",")]
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    uvloop.run(main(counts, seconds))
