"""Phone legs per node with media workers against legs per core (issue 15 P4).

Runs ``bench.media_legs`` twice in one go: the engine in one process pinned to core 0
with the phones' load generator pinned to core 1 (legs per core), then a node with
``--workers`` media worker processes, nothing pinned (legs per node: the workers spread
over the cores, the load generator shares them). Prints both per leg count and the
ratio of the largest counts in real time (late ticks under 1%).

On a machine whose load generator runs on the same cores (this 2-core VM) the node's
figure is a floor: the phones' own CPU is taken from the workers.

Usage: python -m bench.node_legs [--counts 100,200,300,400,500] [--seconds 8]
       [--workers 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from typing import Any

REAL_TIME = 0.01


def _steps(counts: str, seconds: float, extra: list[str], pin: list[str]) -> list[dict[str, Any]]:
    out = subprocess.run(
        [*pin, sys.executable, "-m", "bench.media_legs", counts, str(seconds), "--json", *extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def _best(steps: list[dict[str, Any]]) -> int:
    ok = [s["legs"] for s in steps if s["late_share"] < REAL_TIME and s["received_share"] > 0.98]
    return max(ok, default=0)


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.node_legs")
    p.add_argument("--counts", default="100,200,300,400,500")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args()
    core = _steps(a.counts, a.seconds, ["--pin-loadgen", "1"], ["taskset", "-c", "0"])
    node = _steps(a.counts, a.seconds, ["--workers", str(a.workers)], [])
    print(
        f"| G.711 legs | one pinned core: CPU / late > 5 ms | node, {a.workers} workers: CPU "
        "(all processes) / late > 5 ms |"
    )
    print("| ---: | ---: | ---: |")
    for c, n in zip(core, node, strict=True):
        print(
            f"| {c['legs']} | {c['cpu_share']:.0%} / {c['late_share']:.2%} "
            f"| {n['cpu_share']:.0%} / {n['late_share']:.2%} |"
        )
    per_core, per_node = _best(core), _best(node)
    ratio = f"{per_node / per_core:.2f}" if per_core else "n/a"
    print(
        f"legs in real time: one core {per_core}, node with {a.workers} workers {per_node}"
        f" (ratio {ratio})"
    )


if __name__ == "__main__":
    main()
