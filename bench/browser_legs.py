"""Browser (WebRTC) audio legs end to end, per core (issue 15, deliverable 3).

Unlike ``bench.opus_legs`` (the engine alone, legs fed in-process), this measures the
whole server with real WebRTC peers: a real ``confero serve`` in its own process, pinned
to one core (``soak.server.Server``: data directory, owner made with the CLI), rooms of
``room-size`` made over the REST API (``POST /api/v1/rooms`` with a bearer token from
``/api/v1/tokens``), and a separate load process (``bench.browser_load``, pinned to the
other core) whose aiortc peers join by each room's invite link through the WebSocket
signaling (``/ws/v1/join/<invite token>``), publish audio (one in ten a tone, the rest
silence) and listen to the room's mix: ICE, DTLS, SRTP, Opus decode of every
microphone and Opus encode of every mix on the server, as with browsers.

For each count: a fresh server, the peers joined and connected, a check that media flows
(the tick runs, peers receive the mix, one sampling listener per room hears its talker's
tone), then over ``seconds``: the server's CPU (``/proc/PID/stat``), the share of ticks
late by more than 5 ms (``/api/health``'s ``media`` counters), its RSS, and the load
client's CPU (a saturated client would make the server look better than it is).

The load client sends pre-encoded Opus (one encode for all peers) and does not decode
what 9 in 10 peers receive (see ``bench.browser_load``); its CPU is in the table, and a
row where it neared a core or could not send on time is flagged. Whether the server's
answer negotiates Opus DTX (``usedtx=1``) is printed; when it does, the silent peers send
one packet in 400 ms, as browsers do. Below the table: how long each process's main
thread waited for its core (``/proc/PID/schedstat``), which tells a quiet run from a
noisy one.

The server's settings are the defaults but two: ``CONFERO_WS_MAX_PER_ADDRESS`` (50 room
page sockets from one address, issue 14) is raised, since every peer comes from
127.0.0.1, and ``CONFERO_MAX_CAPACITY`` when ``--room-size`` is over 30.

Usage: python -m bench.browser_legs [--counts 20,50,100] [--seconds 10] [--server-core 0]
       [--load-core 1] [--room-size 10] [--load-procs 1] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import httpx
from soak.server import Server, end_process

OWNER = "bench@confero.test"
T = TypeVar("T")
TICK_MS = 20.0


# -- the load processes ---------------------------------------------------------------------


class JsonLinesProcess:
    """A load client in its own process, optionally pinned: it takes commands on stdin
    and prints JSON lines (``bench.browser_load``, ``bench.ws_load``)."""

    log: Path
    process: subprocess.Popen[str] | None
    lines: queue.Queue[dict[str, Any]]

    def launch(self, command: list[str], cpu: int | None) -> None:
        if cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(cpu), *command]
        with self.log.open("ab") as err:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                # Ctrl-C is the orchestrator's: it tells the client to quit, in order
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        for line in self.process.stdout:
            with contextlib.suppress(json.JSONDecodeError):
                self.lines.put(json.loads(line))
        self.lines.put({"event": "exit"})

    def expect(self, event: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                msg = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(f"load client: no {event} within {timeout:.0f} s") from None
            if msg["event"] == event:
                return msg
            if msg["event"] == "exit":
                raise RuntimeError(f"load client exited: {self.tail()}")

    def tell(self, line: str) -> None:
        if self.process is not None and self.process.poll() is None:
            assert self.process.stdin is not None
            with contextlib.suppress(BrokenPipeError, OSError):
                self.process.stdin.write(line + "\n")
                self.process.stdin.flush()

    def quit(self, grace: float) -> None:
        """Tell it to quit, and make sure it did within ``grace`` seconds."""
        if self.process is None:
            return
        self.tell("quit")
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        end_process(self.process, grace, terminate=False)  # it was told to quit
        self.process = None

    def tail(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return self.log.read_text(errors="replace")[-2000:]
        return ""


@dataclass
class Load(JsonLinesProcess):
    """One ``bench.browser_load`` process."""

    rooms_file: Path
    peers: int
    first: int
    room_size: int
    cpu: int | None
    log: Path
    offer_dtx: bool = False
    #: more arguments for ``bench.browser_load`` (``bench.video_legs``: ``--cameras``)
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen[str] | None = None
    lines: queue.Queue[dict[str, Any]] = field(default_factory=queue.Queue)

    def start(self) -> None:
        command = [
            sys.executable, "-m", "bench.browser_load", str(self.rooms_file),
            "--peers", str(self.peers), "--first", str(self.first),
            "--room-size", str(self.room_size),
        ]  # fmt: skip
        if self.offer_dtx:
            command.append("--offer-dtx")
        self.launch(command + self.extra, self.cpu)

    def mark(self) -> dict[str, Any]:
        self.tell("mark")
        return self.expect("mark", 30)

    def cpu_seconds(self) -> float:
        if self.process is None:
            return 0.0
        with contextlib.suppress(FileNotFoundError):
            stat = Path(f"/proc/{self.process.pid}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return 0.0

    def stop(self) -> None:
        self.quit(30)


# -- one count ---------------------------------------------------------------------------


@dataclass
class Row:
    legs: int
    connected: int  #: peers connected when the window ended
    seconds: float
    server_cpu: float  #: one core = 1.0
    late_share: float
    max_late_ms: float
    rss_mb: float
    client_cpu: float  #: all load processes, one core = 1.0
    receiving: int  #: peers whose received frames grew over the window
    heard: int  #: sampling listeners (one per room) who heard their room's talker's tone
    sampling: int
    heard_share: float  #: of their half-second checks, those that heard the tone
    client_late: float  #: share of the client's 20 ms ticks that fired > 5 ms late
    client_skipped: float  #: share of microphone packets the client was too slow to send
    dtx: bool
    opus_fmtp: list[str]
    tracebacks: int
    server_waited: float  #: share of the window the server's main thread sat runnable
    client_waited: float  #: the same for the load client (other work on its core)

    @property
    def ok(self) -> bool:
        return self.late_share < 0.01 and self.server_cpu < 0.8 and self.connected == self.legs

    @property
    def client_keeps_up(self) -> bool:
        """Saturated: its CPU near one core, or microphone packets not sent on time. (Its
        clock waking late on a shared core is reported, not counted: the server's jitter
        buffer rides that out as it does a browser's.)"""
        return self.client_cpu < 0.8 and self.client_skipped < 0.01

    def markdown(self) -> str:
        per_leg_us = self.server_cpu * TICK_MS * 1000 / max(self.connected, 1)
        client = f"{self.client_cpu:.0%}"
        client += f" (clock late {self.client_late:.0%}, skipped {self.client_skipped:.0%})"
        per_leg = self.server_cpu / max(self.connected, 1)
        missing = (
            f", {self.legs - self.connected} not connected" if self.connected < self.legs else ""
        )
        return (
            f"| {self.legs} | {self.server_cpu:.0%} | {per_leg:.2%} ({per_leg_us:.0f} us / 20 ms)"
            f" | {self.late_share:.2%} (max {self.max_late_ms:.0f} ms)"
            f" | {self.rss_mb:.0f} MB | {client} | {self.receiving}/{self.legs}{missing}"
            f" (tone heard in {self.heard}/{self.sampling} rooms, {self.heard_share:.0%} of"
            " checks) |"
        )


HEADER = (
    "| browser legs | server CPU (one core = 100%) | CPU per leg | ticks late > 5 ms | RSS "
    "| client CPU | peers receiving audio |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def make_rooms(server: Server, rooms: int, room_size: int) -> list[str]:
    """``rooms`` rooms of ``room_size`` over the REST API: their WebSocket join URLs."""
    with server.api(OWNER) as web:
        urls = []
        for n in range(rooms):
            made = web.post("/api/v1/rooms", json={"name": f"Load {n + 1}", "capacity": room_size})
            made.raise_for_status()
            invite = made.json()["invite_url"].rsplit("/join/", 1)[1]
            urls.append(server.base.replace("http", "ws", 1) + f"/ws/v1/join/{invite}")
    return urls


def _tone(marks0: list[dict[str, Any]], marks1: list[dict[str, Any]]) -> tuple[int, int, float]:
    """Between two marks: sampling listeners who heard the tone at least once, of how
    many, and the share of all their checks that heard it."""
    pairs = [
        (a, b) for m0, m1 in zip(marks0, marks1, strict=True)
        for a, b in zip(m0["sampling"], m1["sampling"], strict=True)
    ]  # fmt: skip
    heard = sum(b[0] > a[0] for a, b in pairs)
    checks = sum(b[1] - a[1] for a, b in pairs)
    share = sum(b[0] - a[0] for a, b in pairs) / max(checks, 1)
    return heard, len(pairs), share


def _media(server: Server) -> dict[str, float]:
    """The tick's counters; an overloaded server may take a while to answer."""
    for attempt in range(3):
        try:
            answer = httpx.get(f"{server.base}/api/health", timeout=30)
            answer.raise_for_status()
            media = answer.json()["media"]
            return {k: float(v) for k, v in media.items()}
        except httpx.HTTPError:
            if attempt == 2:
                raise
            time.sleep(1)
    raise AssertionError("unreachable")


def start_server(
    workdir: Path, legs: int, room_size: int, cpu: int | None, running: list[Server | Load]
) -> Server:
    """A fresh server with its owner account. Its ports are picked free before it starts
    and may be taken meanwhile (aiortc's peers take ephemeral UDP ports all the time):
    then again with other ports."""
    for attempt in range(3):
        server = Server(
            workdir / f"server-{attempt}",
            env={
                "CONFERO_WS_MAX_PER_ADDRESS": str(legs + 100),
                "CONFERO_MAX_CAPACITY": str(max(30, room_size)),
            },
            cpu=cpu,
        )
        running.append(server)
        server.create_owner(OWNER)
        try:
            server.start()
        except RuntimeError:
            server.stop()
            running.remove(server)
            if attempt == 2:
                raise
            continue
        return server
    raise AssertionError("unreachable")


def run_count(
    workdir: Path,
    legs: int,
    *,
    seconds: float,
    room_size: int,
    server_core: int | None,
    load_core: int | None,
    load_procs: int,
    offer_dtx: bool,
    running: list[Server | Load],
) -> Row:
    rooms = math.ceil(legs / room_size)
    server = start_server(workdir, legs, room_size, server_core, running)
    urls = make_rooms(server, rooms, room_size)
    # whole rooms per load process
    per_proc = math.ceil(rooms / max(1, min(load_procs, rooms))) * room_size
    loads = []
    for first in range(0, legs, per_proc):
        sliced = workdir / f"rooms-{first}.json"  # a process's peers start at its first room
        sliced.write_text(json.dumps(urls[first // room_size :]))
        load = Load(
            sliced,
            min(per_proc, legs - first),
            first,
            room_size,
            load_core,
            workdir / f"load-{first}.log",
            offer_dtx=offer_dtx,
        )
        running.append(load)
        loads.append(load)
        load.start()
    ready = [load.expect("ready", 120 + 2.0 * legs) for load in loads]
    connected = sum(r["connected"] for r in ready)
    failures = [f for r in ready for f in r["failed"]]
    print(
        f"  {legs} legs: {connected} connected in {max(r['seconds'] for r in ready):.0f} s"
        + (f"; failed: {failures}" if failures else ""),
        flush=True,
    )
    dtx = bool(ready[0]["dtx"])
    # Media flows: the tick runs and the peers hear the mix (give it a few seconds).
    start = _media(server)
    marks = [load.mark() for load in loads]
    deadline = time.monotonic() + 20
    while True:
        time.sleep(2)
        later = [load.mark() for load in loads]
        grown = sum(
            b > a for m0, m1 in zip(marks, later, strict=True)
            for a, b in zip(m0["frames"], m1["frames"], strict=True)
        )  # fmt: skip
        heard, sampling, _ = _tone(marks, later)
        if (grown >= 0.9 * connected and heard >= sampling) or time.monotonic() > deadline:
            break
        marks = later
    ticking = _media(server)["ticks"] > start["ticks"]
    print(
        f"  media: tick {'runs' if ticking else 'STOPPED'}, {grown}/{connected} peers receive"
        f" the mix, tone heard by {heard}/{sampling} sampling listeners",
        flush=True,
    )

    # The window.
    before = _media(server)
    cpu0, wall0 = server.cpu_seconds(), time.monotonic()
    client0 = sum(load.cpu_seconds() for load in loads)
    waits0 = _waited(server.process), [_waited(load.process) for load in loads]
    marks0 = [load.mark() for load in loads]
    time.sleep(seconds)
    marks1 = [load.mark() for load in loads]
    client1 = sum(load.cpu_seconds() for load in loads)
    waits1 = _waited(server.process), [_waited(load.process) for load in loads]
    wall = time.monotonic() - wall0
    cpu1 = server.cpu_seconds()
    after = _media(server)
    rss = server.rss_mb()
    ticks = after["ticks"] - before["ticks"]
    receiving = sum(
        b > a for m0, m1 in zip(marks0, marks1, strict=True)
        for a, b in zip(m0["frames"], m1["frames"], strict=True)
    )  # fmt: skip
    client_ticks = sum(m1["ticks"] - m0["ticks"] for m0, m1 in zip(marks0, marks1, strict=True))
    sent = sum(m1["sent"] - m0["sent"] for m0, m1 in zip(marks0, marks1, strict=True))
    skipped = sum(m1["skipped"] - m0["skipped"] for m0, m1 in zip(marks0, marks1, strict=True))
    tone = _tone(marks0, marks1)
    row = Row(
        legs=legs,
        connected=sum(m["connected"] for m in marks1),
        seconds=wall,
        server_cpu=(cpu1 - cpu0) / wall,
        late_share=(after["late_5ms"] - before["late_5ms"]) / max(ticks, 1),
        max_late_ms=after["max_late_ms"],
        rss_mb=rss,
        client_cpu=(client1 - client0) / wall,
        receiving=receiving,
        heard=tone[0],
        sampling=tone[1],
        heard_share=tone[2],
        client_late=sum(m1["late"] - m0["late"] for m0, m1 in zip(marks0, marks1, strict=True))
        / max(client_ticks, 1),
        client_skipped=skipped / max(sent + skipped, 1),
        dtx=dtx,
        opus_fmtp=list(ready[0]["opus_fmtp"]),
        tracebacks=server.tracebacks(),
        server_waited=(waits1[0] - waits0[0]) / wall,
        client_waited=max(b - a for a, b in zip(waits0[1], waits1[1], strict=True)) / wall,
    )
    for load in loads:
        load.stop()
        running.remove(load)
    server.stop()
    running.remove(server)
    return row


def _waited(process: subprocess.Popen[Any] | None) -> float:
    """Seconds the process's main thread has spent runnable but not running (waiting for
    its core: the noise of a shared machine), from /proc/PID/schedstat."""
    if process is None:
        return 0.0
    with contextlib.suppress(FileNotFoundError, IndexError, ValueError):
        return int(Path(f"/proc/{process.pid}/schedstat").read_text().split()[1]) / 1e9
    return 0.0


def _stop_all(running: list[Server | Load]) -> None:
    for item in reversed(running):
        with contextlib.suppress(Exception):
            item.stop()
    running.clear()


def run_steps(step: Callable[[int, list[Server | Load]], T], counts: list[int]) -> list[T]:
    """``step`` for each count, each with a list where it keeps what it started; on
    Ctrl-C, SIGTERM or a failure what has been measured is kept and every process stopped."""
    running: list[Server | Load] = []

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    rows: list[T] = []
    try:
        for count in counts:
            rows.append(step(count, running))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    except Exception as exc:
        print(f"failed: {exc!r}", flush=True)
    finally:
        _stop_all(running)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.browser_legs")
    parser.add_argument("--counts", default="20,50,100", help="browser legs per step")
    parser.add_argument("--seconds", type=float, default=10.0, help="measured window per step")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--room-size", type=int, default=10)
    parser.add_argument("--load-procs", type=int, default=1, help="load processes per step")
    parser.add_argument("--offer-dtx", action="store_true", help="peers offer usedtx=1 (Opus fmtp)")
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    counts = [int(x) for x in args.counts.split(",") if x]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="confero-browser-legs-"))
    print(
        f"browser legs end to end: rooms of {args.room_size}, one in ten talking,"
        f" {args.seconds:g} s per step, server on CPU {args.server_core},"
        f" load on CPU {args.load_core}, in {workdir}",
        flush=True,
    )
    rows = run_steps(
        lambda legs, running: run_count(
            workdir / f"legs-{legs}",
            legs,
            seconds=args.seconds,
            room_size=args.room_size,
            server_core=args.server_core,
            load_core=args.load_core,
            load_procs=args.load_procs,
            offer_dtx=args.offer_dtx,
            running=running,
        ),
        counts,
    )
    if not rows:
        return 1
    first = rows[0]
    dtx = "negotiated" if first.dtx else "not negotiated"
    print(f"\nOpus DTX: {dtx} (the answer's Opus fmtp: {first.opus_fmtp or 'none'})")
    print(HEADER)
    for row in rows:
        print(row.markdown())
    for row in rows:
        print(
            f"{row.legs} legs: main threads waited for their core {row.server_waited:.0%}"
            f" (server) and {row.client_waited:.0%} (client) of the window; client clock"
            f" late {row.client_late:.0%}"
        )
    for row in rows:
        if row.tracebacks:
            print(f"tracebacks in the server log at {row.legs} legs: {row.tracebacks}")
        if not row.client_keeps_up:
            print(f"the load client did not keep up at {row.legs} legs: figures are optimistic")
    good = [r for r in rows if r.ok and r.client_keeps_up]
    best = max(good, key=lambda r: r.legs).legs if good else 0
    note = ""
    if good and best == max(r.legs for r in rows):
        ref = max(good, key=lambda r: r.legs)
        per_leg = ref.server_cpu / max(ref.connected, 1)
        note = (
            f" (the largest count measured; extrapolated from its CPU per leg:"
            f" ~{0.8 / per_leg:.0f} at 80% CPU)"
        )
    print(f"browser legs per core (late < 1%, CPU < 80%): {best}{note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
