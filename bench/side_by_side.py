"""Confero's phone mixing next to Janus AudioBridge's, on the same core with the same
phones.

Usage: python -m bench.side_by_side [--counts 100,200,300,400] [--seconds 8]
           [--server-core 0] [--load-core 1]

For each count of G.711 (PCMU) legs, in rooms of 10 with one talker in ten, the mixer
runs pinned to ``--server-core`` and ``bench.loadgen`` (the phones) to ``--load-core``:
first Confero (``bench.media_legs --json``: the real media engine), then Janus
(``bench.janus``: Debian's janus, AudioBridge, one plain-RTP participant per leg) with
rooms at 16 kHz and again at 48 kHz. Then one room of 100 legs with 3 talkers, for both.
CPU is the mixer process's user + system time over the measured window (one core =
100%); "returned" is the share of sent packets that came back as mix, so an idle mixer
is not mistaken for a fast one. The latency probe (phone 0 clicks every 500 ms, phone 1
in the same room times the click's arrival) gives the phone-to-phone delay through each
mixer. Janus missing or failing to start: one line "janus: skipped (why)" and the
Confero column alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from typing import Any

from bench.janus import Janus, JanusError, JanusUnavailable

HOST = "127.0.0.1"
PROBE = "0,1"

Step = dict[str, Any]


def run_confero(
    legs: int, seconds: float, room_size: int, loadgen: list[str], server: int, load: int
) -> Step:
    command = [
        "taskset", "-c", str(server), sys.executable, "-m", "bench.media_legs", str(legs),
        str(seconds), "--json", "--pin-loadgen", str(load), "--room-size", str(room_size),
        *loadgen,
    ]  # fmt: skip
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout
    r: Step = json.loads(out.strip().splitlines()[-1])
    return {
        "cpu": r["cpu_share"],
        "late": r["late_share"],
        "returned": r["received_share"],
        **r.get("loadgen", {}),
    }


def run_janus(
    legs: int,
    seconds: float,
    room_size: int,
    rate: int,
    loadgen: list[str],
    server: int,
    load: int,
) -> Step:
    with Janus(core=server) as janus:
        gen = subprocess.Popen(
            ["taskset", "-c", str(load), sys.executable, "-m", "bench.loadgen", HOST, "-",
             str(seconds), "--legs", str(legs), "--room-size", str(room_size), *loadgen],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        assert gen.stdin is not None and gen.stdout is not None
        client = janus.client()
        try:
            ours = json.loads(gen.stdout.readline())["addresses"]
            client.create_session()
            rooms = (legs + room_size - 1) // room_size
            for room in range(1, rooms + 1):
                client.create_room(room, rate)
            theirs = []
            for i, port in enumerate(ours):
                _, _, janus_port = client.join_rtp(1 + i // room_size, HOST, port, f"leg{i}")
                theirs.append(janus_port)
            gen.stdin.write(",".join(map(str, theirs)) + "\n")
            gen.stdin.flush()
            time.sleep(0.5)  # let the queues fill, as media_legs does before its window
            cpu0, wall0 = janus.cpu_seconds(), time.monotonic()
            last = json.loads(gen.stdout.readline())
            cpu1, wall1 = janus.cpu_seconds(), time.monotonic()
            gen.wait()
        finally:
            if gen.poll() is None:
                gen.kill()
                gen.wait()
            client.close()
    return {
        "cpu": (cpu1 - cpu0) / (wall1 - wall0),
        "returned": last["received"] / max(last["sent"], 1),
        **{k: v for k, v in last.items() if k not in ("sent", "received", "seconds")},
    }


def real_time(step: Step) -> bool:
    return bool(step["late"] <= 0.01 and step["returned"] >= 0.9)


def saturated(step: Step) -> bool:
    return bool(step["cpu"] > 0.9 or step["returned"] < 0.9)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.0%}" if x >= 0.1 else f"{x:.1%}"


def probe(step: Step | None) -> str:
    if not step or "probe_p50_ms" not in step:
        return "—"
    return f"{step['probe_p50_ms']:.0f} / {step['probe_p99_ms']:.0f} ms (n={step['probe_count']})"


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.side_by_side")
    p.add_argument("--counts", default="100,200,300,400")
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--server-core", type=int, default=0)
    p.add_argument("--load-core", type=int, default=1)
    p.add_argument("--no-big-room", action="store_true", help="skip the room of 100 legs")
    a = p.parse_args()
    counts = [int(x) for x in a.counts.split(",")]
    cores = (a.server_core, a.load_core)

    janus_ok = True
    try:
        with Janus(core=a.server_core) as j:
            j.client().close()
    except (JanusUnavailable, OSError) as e:
        print(f"janus: skipped ({e})", flush=True)
        janus_ok = False

    def janus_step(legs: int, room_size: int, rate: int, loadgen: list[str]) -> Step | None:
        nonlocal janus_ok
        if not janus_ok:
            return None
        try:
            return run_janus(legs, a.seconds, room_size, rate, loadgen, *cores)
        except (JanusUnavailable, JanusError, OSError, ValueError) as e:
            print(f"janus: skipped ({e})", flush=True)
            janus_ok = False
            return None

    # (label, legs, rooms, confero, janus 16k, janus 48k)
    rows: list[tuple[str, int, int, Step, Step | None, Step | None]] = []
    # the first second (buffers filling, Confero's engine starting) is not counted
    warm = ["--warmup", "1"]
    configs = [(n, 10, ["--talk-every", "10", "--probe", PROBE, *warm]) for n in counts]
    if not a.no_big_room:
        configs.append((100, 100, ["--talkers-per-room", "3", *warm]))
    for legs, room_size, loadgen in configs:
        rooms = (legs + room_size - 1) // room_size
        label = f"{legs}" if room_size == 10 else f"{legs} (one room, 3 talkers)"
        print(f"-- {label}: confero", flush=True)
        ours = run_confero(legs, a.seconds, room_size, loadgen, *cores)
        print(f"   {json.dumps(ours)}", flush=True)
        j16 = j48 = None
        if janus_ok:
            print(f"-- {label}: janus 16k, 48k", flush=True)
            j16 = janus_step(legs, room_size, 16000, loadgen)
            j48 = janus_step(legs, room_size, 48000, loadgen)
            print(f"   {json.dumps(j16)}\n   {json.dumps(j48)}", flush=True)
        rows.append((label, legs, rooms, ours, j16, j48))

    print()
    print(
        "| G.711 legs | rooms | Confero CPU | Confero late>5ms | Janus CPU 16k | Janus CPU 48k"
        " | Janus/Confero (16k) | returned C / J16 / J48 |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, _, rooms, ours, j16, j48 in rows:
        ratio = f"{j16['cpu'] / ours['cpu']:.2f}" if j16 and ours["cpu"] > 0 else "—"
        if j16 and not real_time(ours):
            ratio += " †"
        if j16 and saturated(j16):
            ratio += " ‡"
        returned = " / ".join(pct(s["returned"] if s else None) for s in (ours, j16, j48))
        print(
            f"| {label} | {rooms} | {pct(ours['cpu'])} | {pct(ours['late'])}"
            f" | {pct(j16['cpu'] if j16 else None)} | {pct(j48['cpu'] if j48 else None)}"
            f" | {ratio} | {returned} |"
        )
    print(
        "† Confero not real time at this count (late ticks > 1% or < 90% of the audio back):"
        " its CPU is what it got, not what it needed (a busy core shows as low CPU, many late)."
        "\n‡ Janus at the limit of the core (CPU > 90% or < 90% back): it needed more."
    )
    print()
    print("Latency probe, phone to phone (p50 / p99), rooms of 10:")
    print("| G.711 legs | Confero | Janus 16k | Janus 48k |")
    print("| --- | ---: | ---: | ---: |")
    for label, _, _, ours, j16, j48 in rows:
        if "one room" not in label:
            print(f"| {label} | {probe(ours)} | {probe(j16)} | {probe(j48)} |")
    low = [
        (legs, ours, j16)
        for label, legs, _, ours, j16, _ in rows
        if "one room" not in label and any(s["returned"] < 0.9 for s in (ours, j16) if s)
    ]
    for legs, ours, j16 in low:
        print(
            f"warning: at {legs} legs less than 90% of the audio came back"
            f" (Confero {pct(ours['returned'])}, Janus 16k {pct(j16['returned'] if j16 else None)})"
        )
    ticks = (a.seconds - 1) / 0.02
    for label, _, _, ours, j16, j48 in rows:
        for name, step in (("Confero", ours), ("Janus 16k", j16), ("Janus 48k", j48)):
            if step and step.get("loadgen_late_ticks", 0) > 0.01 * ticks:
                print(
                    f"warning: {label} legs, {name}: the load generator started"
                    f" {step['loadgen_late_ticks']} ticks more than 5 ms late"
                    f" (of ~{ticks:.0f}; its core is busy)"
                )
    at300 = [(ours, j16) for label, legs, _, ours, j16, _ in rows if label == "300"]
    if at300 and at300[0][1] and at300[0][0]["cpu"] > 0:
        ours, j16 = at300[0]
        assert j16 is not None
        ratio = j16["cpu"] / ours["cpu"]
        head = (
            f"At 300 legs: Janus (16 kHz) uses {ratio:.2f}x Confero's CPU"
            f" ({pct(j16['cpu'])} vs {pct(ours['cpu'])}); target >= 1.5:"
        )
        if not real_time(ours):
            print(
                f"{head} cannot tell here: Confero was not real time (late ticks"
                f" {pct(ours['late'])}, {pct(ours['returned'])} back), so its CPU figure is"
                " what the core gave it, not what it needs (a busy core or too many legs)."
            )
        elif saturated(j16):
            verdict = "meets it" if ratio >= 1.5 else "unknown"
            print(f"{head} {verdict} (Janus was at the limit of the core: the ratio is a floor).")
        else:
            print(f"{head} {'meets' if ratio >= 1.5 else 'misses'} it.")
    elif at300:
        print("At 300 legs: no Janus figure to compare with.")
    else:
        print("At 300 legs: not run (add 300 to --counts).")


if __name__ == "__main__":
    main()
