"""The cluster's overhead (issue 16, F-SC2): the same phone and browser legs on one node
and on three nodes behind Kamailio, in one run on this machine.

Two setups, one after the other, each with the same load:

* **one node**: one ``confero serve`` in its plain default profile (SQLite, in-process
  bus, no Redis): what a one-machine operator runs, and the floor the cluster is paid
  for against. (A single node on PostgreSQL and Redis would add their cost without
  anything to share; the comparison asked is "a cluster or not".) Callers dial its SIP
  port directly; browsers join on its HTTP port.
* **three nodes**: ``node1``..``node3`` on a fresh PostgreSQL database of the run's own and
  the real Redis under a key prefix of the run's own (``CONFERO_REDIS_PREFIX``, deleted
  afterwards), behind the real Kamailio with ``deploy/kamailio.cfg`` unchanged (its
  defines given with ``-A``, as ``make cluster`` does). Callers dial Kamailio's one
  address (round robin over the nodes). Room A's meeting is started on node1 and room
  B's on node2 (one browser peer each joins there first); every other browser peer joins
  both rooms through node3, which owns neither: its socket is forwarded to the owner and
  its media goes to the owner. A phone answered by a node that does not own its room is
  passed on and its RTP relayed (about two calls in three): the whole path a user's
  packet takes.

The load, identical in both: ``--phones`` sipp callers (soak/ivr.py's caller: the access
number, 1, the conference number, the PIN and # by SIP INFO, then a PCMU stream with a
1 s tone every 10 s, from two loopback addresses, 127.0.0.2 and .3) and ``--browsers``
aiortc peers (``bench.browser_load``, as ``bench.browser_legs`` runs it; in each room two
send a 440 Hz Opus tone, the one that starts the meeting and the first of the others,
the rest silence; all hear the mix), split evenly over two rooms. Every node and
Kamailio (and its children) run on CPU ``--server-core`` (0); sipp, the aiortc load and
this runner on ``--load-core`` (1), with ``taskset``.

Figures per setup: first, with the servers up and no leg yet, their idle CPU over
``--idle-seconds`` (three nodes renew leases and answer Kamailio's probes every second:
a fixed cost the per-leg figure alone would hide); the legs in the meetings (the owner's
participant list, over REST on any node), seconds from the first join until every leg
is in, then over ``--seconds``: the CPU of every server process (``/proc/<pid>/stat``
utime+stime of the nodes and of Kamailio's process tree), per leg, the share of mixer
ticks late by more than 5 ms (the nodes' ``/api/health``), browser peers still
receiving, and the load's own CPU; then the ratios cluster / one node. Below the table:
how long the nodes' main threads waited for their core (``/proc/PID/schedstat``), which
tells a quiet run from a noisy one. PostgreSQL and Redis are not counted: they are
shared with the rest of the machine (other runs, other tests), and a running meeting
touches them only for its lease heartbeats.

Settings both setups share: ``CONFERO_LOG_LEVEL=info`` (the cluster's relay logs say which
calls were passed on), no per-source SIP limits (every caller comes from two
addresses), ``CONFERO_WS_MAX_PER_ADDRESS`` raised (every peer is 127.0.0.1). Kamailio's
``FLOOD_DENSITY`` is raised to 1000 for the same reason (its default, 64 requests in 2 s
per address, would take two loopback addresses full of callers for a flood).

Every process started is stopped at the end, on an error and on Ctrl-C or SIGTERM
(process groups); ports are picked free; the database and the Redis keys are removed.

Usage: python -m bench.cluster_legs [--phones 20] [--browsers 10] [--seconds 20]
       [--idle-seconds 10] [--call-rate 4] [--server-core 0] [--load-core 1]
       [--workdir DIR] [--only one|cluster]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any, Protocol

import httpx
from soak.ivr import ACCESS_NUMBER, caller_pcap, caller_scenario, rooms_csv
from soak.server import Room, Server, free_port
from sqlalchemy import make_url, text
from tests.e2e.sipp import SIPP, free_udp_port

from bench.browser_legs import Load
from confero.store.database import create_engine

OWNER = "bench@confero.test"
ROOT = Path(__file__).resolve().parents[1]
DEPLOY_CFG = ROOT / "deploy" / "kamailio.cfg"
KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
PG_URL = os.environ.get(
    "CONFERO_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CONFERO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
SOURCES = ("127.0.0.2", "127.0.0.3")
ROOMS = 2
#: Settings of every node in both setups (see the module's docstring).
NODE_ENV = {
    "CONFERO_LOG_LEVEL": "info",
    "CONFERO_TRUSTED_PROXIES": "127.0.0.1",
    "CONFERO_SIP_MAX_CALLS_PER_SOURCE": "0",
    "CONFERO_SIP_INVITE_RATE": "0",
    "CONFERO_WS_MAX_PER_ADDRESS": "500",
}


class Stoppable(Protocol):
    def stop(self) -> None: ...


# -- what the cluster needs: a database, a Redis prefix, the SIP front --------------------


@contextlib.contextmanager
def fresh_database() -> Iterator[str]:
    """A PostgreSQL database of this run's own (as tests/store/databases.py makes one),
    dropped afterwards even if nodes still hold connections."""
    name = f"bench_cluster_{secrets.token_hex(6)}"

    async def execute(sql: str) -> None:
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            async with admin.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await admin.dispose()

    asyncio.run(execute(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with contextlib.suppress(Exception):
            asyncio.run(execute(f'DROP DATABASE "{name}" WITH (FORCE)'))


@contextlib.contextmanager
def redis_prefix() -> Iterator[str]:
    """A key prefix of this run's own; every key under it deleted afterwards."""
    import redis

    prefix = f"bench-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        client = redis.Redis.from_url(REDIS_URL)
        try:
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
        finally:
            client.close()


@dataclass
class Front:
    """Kamailio with ``deploy/kamailio.cfg`` as shipped in front of ``nodes``, pinned to
    ``cpu``, in its own process group (its children die with it)."""

    nodes: list[tuple[str, int]]
    workdir: Path
    cpu: int | None
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        run = self.workdir / "run"
        run.mkdir(exist_ok=True)
        dispatcher = self.workdir / "dispatcher.list"
        dispatcher.write_text("".join(f"1 sip:{h}:{p}\n" for h, p in self.nodes))
        defines = {
            "SIP_ADDR": "127.0.0.1",
            "SIP_PORT": str(self.port),
            "SIP_DOMAIN": '"sip.confero.test"',
            "DISPATCHER_LIST": f'"{dispatcher}"',
            "FLOOD_DENSITY": "1000",
            "CHILDREN": "2",
        }
        command = [
            KAMAILIO, "-f", str(DEPLOY_CFG),
            *(arg for k, v in defines.items() for arg in ("-A", f"{k}={v}")),
            "-DD", "-E", "-m", "64", "-M", "8",
            "-w", str(self.workdir), "-Y", str(run), "-P", str(run / "kamailio.pid"),
        ]  # fmt: skip
        if self.cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(self.cpu), *command]
        with (self.workdir / "kamailio.log").open("wb") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._ready()

    def _ready(self) -> None:
        """Until it answers an OPTIONS to itself (its health check), or it died."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            s.settimeout(0.2)
            local = s.getsockname()[1]
            probe = (
                f"OPTIONS sip:127.0.0.1:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{local};branch=z9hG4bKbench\r\n"
                "From: <sip:bench@127.0.0.1>;tag=b\r\nTo: <sip:127.0.0.1>\r\n"
                "Call-ID: bench-probe@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                "Content-Length: 0\r\n\r\n"
            ).encode()
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if self.process is None or self.process.poll() is not None:
                    break
                s.sendto(probe, ("127.0.0.1", self.port))
                with contextlib.suppress(TimeoutError):
                    s.recv(4096)
                    return
        raise RuntimeError(f"kamailio did not start: {self.log()[-2000:]}")

    def log(self) -> str:
        with contextlib.suppress(FileNotFoundError):
            return (self.workdir / "kamailio.log").read_text(errors="replace")
        return ""

    def stop(self) -> None:
        kill_group(self.process)
        self.process = None


def kill_group(process: subprocess.Popen[Any] | None, grace: float = 5.0) -> None:
    """SIGTERM to the process group of ``process`` (started with its own session), SIGKILL
    after ``grace`` seconds."""
    if process is None:
        return
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(grace)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # children left behind
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait(5)


# -- the phones ------------------------------------------------------------------------------


@dataclass
class Phones:
    """One sipp process: ``calls`` callers from ``source``, dialled at ``rate`` a second,
    staying ``hold`` seconds (longer than the run: they are killed at its end)."""

    workdir: Path
    source: str
    target: tuple[str, int]
    rooms: list[Room]
    calls: int
    rate: float
    hold: float
    cpu: int | None
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        pcap = caller_pcap(self.workdir / "voice.pcap", self.hold + 5)
        scenario = self.workdir / "scenario.xml"
        pin_length = len(self.rooms[0].pin)
        scenario.write_text(caller_scenario(pcap, pin_length, self.hold))
        command = [
            SIPP, "-sf", str(scenario),
            "-inf", str(rooms_csv(self.workdir / "rooms.csv", self.rooms)),
            "-i", self.source, "-p", str(free_udp_port(self.source, tcp=True)),
            "-mi", self.source, "-mp", str(free_udp_port(self.source, even=True, span=4)),
            "-cp", str(free_udp_port("0.0.0.0")),
            "-s", ACCESS_NUMBER,
            "-m", str(self.calls), "-l", str(self.calls),
            "-r", str(max(1, round(self.rate * 10))), "-rp", "10000",
            "-nostdin",
            "-trace_err", "-error_file", str(self.workdir / "errors.log"),
            f"{self.target[0]}:{self.target[1]}",
        ]  # fmt: skip
        if self.cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(self.cpu), *command]
        with (self.workdir / "stdout.log").open("wb") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )

    def errors(self) -> int:
        with contextlib.suppress(FileNotFoundError):
            text = (self.workdir / "errors.log").read_text(errors="replace")
            return sum(1 for line in text.splitlines() if line.strip())
        return 0

    def stop(self) -> None:
        kill_group(self.process, 2.0)
        self.process = None


# -- CPU from /proc ------------------------------------------------------------------------------


def _stat(pid: int) -> list[str] | None:
    with contextlib.suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return None


def tree_cpu(root: int | None) -> float:
    """CPU seconds (user + system, and those of reaped children) of ``root`` and every
    live descendant: Kamailio's work is done by its children."""
    if root is None:
        return 0.0
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        fields = _stat(pid)
        if fields is not None:
            total += sum(int(x) for x in fields[11:15])
        todo.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")


def waited(root: int | None) -> float:
    """Seconds the main thread of ``root`` sat runnable without its core
    (``/proc/PID/schedstat``): how much the shared machine got in the way."""
    if root is None:
        return 0.0
    with contextlib.suppress(OSError, IndexError, ValueError):
        return int(Path(f"/proc/{root}/schedstat").read_text().split()[1]) / 1e9
    return 0.0


def server_cpu(roots: list[int | None], seconds: float) -> float:
    """CPU seconds per second of the process trees ``roots`` over ``seconds``."""
    before = sum(tree_cpu(p) for p in roots)
    start = time.monotonic()
    time.sleep(seconds)
    return (sum(tree_cpu(p) for p in roots) - before) / (time.monotonic() - start)


def pid_of(process: subprocess.Popen[Any] | None) -> int | None:
    return None if process is None or process.poll() is not None else process.pid


# -- one setup -------------------------------------------------------------------------------


@dataclass
class Result:
    setup: str
    phones: int
    phones_in: int
    browsers: int
    browsers_in: int
    all_in_s: float | None  #: None: not everyone got in within the time allowed
    seconds: float
    idle_cpu: float  #: the same servers before any leg joined
    server_cpu: float  #: CPU seconds per second, all server processes
    parts: dict[str, float]  #: the same per process (node, kamailio)
    late_share: float
    receiving: int
    load_cpu: float
    relayed: int  #: phone calls passed on to another node
    sipp_errors: int
    tracebacks: int
    nodes_waited: float  #: share of the window the nodes' main threads waited for a core

    @property
    def legs_in(self) -> int:
        return self.phones_in + self.browsers_in

    @property
    def load_share(self) -> float:
        """What the legs added to the idle servers."""
        return self.server_cpu - self.idle_cpu

    @property
    def per_leg(self) -> float:
        return self.server_cpu / max(self.legs_in, 1)

    def markdown(self) -> str:
        took = f"{self.all_in_s:.1f} s" if self.all_in_s is not None else "not all"
        parts = ", ".join(f"{k} {v:.1%}" for k, v in self.parts.items())
        return (
            f"| {self.setup} | {self.phones_in}/{self.phones} | {self.browsers_in}/{self.browsers}"
            f" | {took} | {self.idle_cpu:.1%} | {self.server_cpu:.1%} ({parts})"
            f" | {self.per_leg:.2%}"
            f" | {self.late_share:.2%} | {self.receiving}/{self.browsers} | {self.load_cpu:.0%} |"
        )


HEADER = (
    "| setup | phone legs in | browser legs in | all in after | server CPU idle"
    " | server CPU with the legs (one core = 100%) | CPU per leg | ticks late > 5 ms"
    " | browsers receiving | load CPU |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def invite_of(server: Server, room: Room) -> str:
    with server.api(OWNER) as web:
        answer = web.get(f"/api/v1/rooms/{room.id}")
        answer.raise_for_status()
        return str(answer.json()["invite_url"]).rstrip("/").rsplit("/", 1)[-1]


def ws_url(server: Server, invite: str) -> str:
    return server.base.replace("http", "ws", 1) + f"/ws/v1/join/{invite}"


def in_meetings(web: httpx.Client, rooms: list[Room]) -> tuple[int, int]:
    """Phone and browser participants of the rooms' meetings (0 while one cannot say)."""
    phones = browsers = 0
    for room in rooms:
        with contextlib.suppress(httpx.HTTPError, ValueError):
            answer = web.get(f"/api/v1/rooms/{room.id}/conference")
            if answer.status_code == 200:
                for p in answer.json().get("participants", []):
                    phones += p.get("channel") == "phone"
                    browsers += p.get("channel") == "browser"
    return phones, browsers


def media_counters(nodes: list[Server]) -> tuple[float, float]:
    """Mixer ticks and ticks late by more than 5 ms, summed over the nodes."""
    ticks = late = 0.0
    for node in nodes:
        with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
            media = httpx.get(f"{node.base}/api/health", timeout=30).json()["media"]
            ticks += float(media["ticks"])
            late += float(media["late_5ms"])
    return ticks, late


def frames(loads: list[Load]) -> list[int]:
    return [f for load in loads for f in load.mark()["frames"]]


def run_setup(
    setup: str, args: argparse.Namespace, workdir: Path, running: list[Stoppable]
) -> Result:
    """Start ``setup`` ("one node" or "three nodes"), load it, measure it, stop it."""
    cluster = setup != "one node"
    hold = args.join_timeout + args.seconds + 60
    capacity = (args.phones + args.browsers) // ROOMS + 2
    env = {**NODE_ENV, "CONFERO_MAX_CAPACITY": str(max(30, capacity))}
    made: list[Room] = []
    with contextlib.ExitStack() as stack:
        if cluster:
            database = stack.enter_context(fresh_database())
            prefix = stack.enter_context(redis_prefix())
            env |= {
                "CONFERO_DATABASE_URL": database,
                "CONFERO_REDIS_URL": REDIS_URL,
                "CONFERO_REDIS_PREFIX": prefix,
                "CONFERO_CLUSTER_SECRET": secrets.token_urlsafe(32),
            }
        # Runs before the database and the Redis keys go, also on an error or Ctrl-C.
        stack.callback(_stop_all, running)
        nodes = []
        for i in range(1, (3 if cluster else 1) + 1):
            http_port = free_port()
            node_env = dict(env)
            if cluster:
                node_env |= {
                    "CONFERO_NODE_ID": f"node{i}",
                    "CONFERO_NODE_URL": f"http://127.0.0.1:{http_port}",
                }
            nodes.append(
                Server(
                    workdir / f"node{i}", env=node_env, cpu=args.server_core, http_port=http_port
                )
            )
        first = nodes[0]
        if cluster:
            first.cli("db", "upgrade")
        # The CLI before any node runs (on a cluster it would otherwise join it).
        first.create_owner(OWNER)
        for n in range(ROOMS):
            made.append(first.create_room(OWNER, f"Room {'AB'[n]}", capacity))
        running.extend(nodes)
        first.start()
        for node in nodes[1:]:
            node.start()
        target = ("127.0.0.1", first.sip_port)
        front: Front | None = None
        if cluster:
            front = Front(
                [("127.0.0.1", n.sip_port) for n in nodes], workdir / "kamailio", args.server_core
            )
            running.append(front)
            front.start()
            target = ("127.0.0.1", front.port)
        invites = [invite_of(first, room) for room in made]
        time.sleep(args.settle)
        roots = [n.process for n in nodes] + ([front.process] if front else [])
        idle = server_cpu([pid_of(p) for p in roots], args.idle_seconds)
        # Room A's meeting starts on node1, room B's on node2 (one browser each joins
        # there first); the other browsers join through node3, which owns neither.
        owners = [nodes[n % len(nodes)] for n in range(ROOMS)]
        via = nodes[-1]
        start = time.monotonic()
        starters_file = workdir / "starters.json"
        starters_file.write_text(
            json.dumps([ws_url(o, i) for o, i in zip(owners, invites, strict=True)])
        )
        starters = Load(starters_file, ROOMS, 0, 1, args.load_core, workdir / "load-starters.log")
        running.append(starters)
        starters.start()
        starters.expect("ready", 120)
        loads = [starters]
        rest_per_room = args.browsers // ROOMS - 1
        if rest_per_room > 0:
            rest_file = workdir / "rest.json"
            rest_file.write_text(json.dumps([ws_url(via, i) for i in invites]))
            rest = Load(
                rest_file,
                rest_per_room * ROOMS,
                ROOMS,
                rest_per_room,
                args.load_core,
                workdir / "load-rest.log",
            )
            running.append(rest)
            rest.start()
            loads.append(rest)
        phones = [
            Phones(
                workdir / f"sipp-{n}",
                source,
                target,
                made,
                calls,
                args.call_rate / len(SOURCES),
                hold,
                args.load_core,
            )
            for n, (source, calls) in enumerate(
                zip(SOURCES, split(args.phones, len(SOURCES)), strict=True)
            )
            if calls
        ]
        for sipp in phones:
            running.append(sipp)
            sipp.start()
        if len(loads) > 1:
            loads[1].expect("ready", 120 + 2.0 * args.browsers)
        browsers = ROOMS * (args.browsers // ROOMS)
        all_in: float | None = None
        got = (0, 0)
        with first.api(OWNER) as web:
            deadline = start + args.join_timeout
            while time.monotonic() < deadline:
                got = in_meetings(web, made)
                if got == (args.phones, browsers):
                    all_in = time.monotonic() - start
                    break
                time.sleep(0.25)
            print(
                f"  {setup}: {got[0]} phones and {got[1]} browsers in"
                + (f" after {all_in:.1f} s" if all_in is not None else " (not all)"),
                flush=True,
            )
            time.sleep(args.settle)
            # the window
            names = [n.env.get("CONFERO_NODE_ID", "node") for n in nodes] + (
                ["kamailio"] if front else []
            )
            loads_pids = [load.process for load in loads] + [s.process for s in phones]
            ticks0, late0 = media_counters(nodes)
            frames0 = frames(loads)
            cpu0 = [tree_cpu(pid_of(p)) for p in roots]
            load0 = sum(tree_cpu(pid_of(p)) for p in loads_pids)
            waited0 = sum(waited(pid_of(n.process)) for n in nodes)
            wall0 = time.monotonic()
            time.sleep(args.seconds)
            cpu1 = [tree_cpu(pid_of(p)) for p in roots]
            load1 = sum(tree_cpu(pid_of(p)) for p in loads_pids)
            waited1 = sum(waited(pid_of(n.process)) for n in nodes)
            wall = time.monotonic() - wall0
            frames1 = frames(loads)
            ticks1, late1 = media_counters(nodes)
            phones_in, browsers_in = in_meetings(web, made)
        relayed = sum(n.log_path.read_text(errors="replace").count("passed on to") for n in nodes)
        parts = {name: (b - a) / wall for name, a, b in zip(names, cpu0, cpu1, strict=True)}
        result = Result(
            setup=setup,
            phones=args.phones,
            phones_in=phones_in,
            browsers=browsers,
            browsers_in=browsers_in,
            all_in_s=all_in,
            seconds=wall,
            idle_cpu=idle,
            server_cpu=sum(parts.values()),
            parts=parts,
            late_share=(late1 - late0) / max(ticks1 - ticks0, 1),
            receiving=sum(b > a for a, b in zip(frames0, frames1, strict=False)),
            load_cpu=(load1 - load0) / wall,
            relayed=relayed,
            sipp_errors=sum(s.errors() for s in phones),
            tracebacks=sum(n.tracebacks() for n in nodes),
            nodes_waited=(waited1 - waited0) / wall,
        )
    return result


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (i < total % parts) for i in range(parts)]


def _stop_all(running: list[Stoppable]) -> None:
    """The load first (sipp, aiortc), then Kamailio and the nodes; each whatever happens."""
    for item in reversed(running):
        with contextlib.suppress(Exception):
            item.stop()
    running.clear()


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a is not None and b else "-"


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_legs")
    parser.add_argument("--phones", type=int, default=20, help="sipp callers, over two rooms")
    parser.add_argument("--browsers", type=int, default=10, help="aiortc peers, over two rooms")
    parser.add_argument("--seconds", type=float, default=20.0, help="the measured window")
    parser.add_argument("--settle", type=float, default=3.0, help="pause before a window")
    parser.add_argument("--idle-seconds", type=float, default=10.0, help="the idle window")
    parser.add_argument("--call-rate", type=float, default=4.0, help="new calls a second")
    parser.add_argument("--join-timeout", type=float, default=90.0)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--only", choices=["one", "cluster"], default=None)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if args.browsers < 2 * ROOMS:
        parser.error(f"--browsers: at least {2 * ROOMS} (one starts each room's meeting)")
    for tool in (SIPP, KAMAILIO):
        if not Path(tool).exists():
            sys.exit(f"{tool} is missing (scripts/system-deps.sh)")
    if args.load_core is not None:
        with contextlib.suppress(OSError):
            os.sched_setaffinity(0, {args.load_core})  # this runner is load too
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="confero-cluster-legs-"))
    print(
        f"cluster overhead: {args.phones} phone legs and {args.browsers} browser legs in"
        f" {ROOMS} rooms, {args.seconds:g} s window; servers on CPU {args.server_core},"
        f" load on CPU {args.load_core}; in {workdir}",
        flush=True,
    )

    def on_term(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    setups = {"one": "one node", "cluster": "three nodes"}
    results: list[Result] = []
    running: list[Stoppable] = []
    try:
        for key, setup in setups.items():
            if args.only in (None, key):
                results.append(run_setup(setup, args, workdir / key, running))
    except KeyboardInterrupt:
        print("interrupted", flush=True)
    except Exception as exc:
        print(f"failed: {exc!r}", flush=True)
    finally:
        _stop_all(running)
    if not results:
        return 1
    print()
    print(HEADER)
    for r in results:
        print(r.markdown())
    for r in results:
        print(
            f"{r.setup}: the nodes' main threads waited for their core {r.nodes_waited:.1%}"
            " of the window (other work on the machine; three nodes also wait for each other)"
        )
    for r in results:
        notes = [f"{r.relayed} phone calls passed on to the room's owner"] if r.relayed else []
        if r.sipp_errors:
            notes.append(f"sipp logged {r.sipp_errors} error lines")
        if r.tracebacks:
            notes.append(f"{r.tracebacks} tracebacks in the node logs")
        if notes:
            print(f"{r.setup}: {'; '.join(notes)}")
    if len(results) == 2:
        one, three = results
        print(
            f"cluster / one node: server CPU {ratio(three.server_cpu, one.server_cpu)},"
            f" CPU per leg {ratio(three.per_leg, one.per_leg)},"
            f" idle {ratio(three.idle_cpu, one.idle_cpu)},"
            f" the legs' own (less idle) {ratio(three.load_share, one.load_share)},"
            f" time to get all in {ratio(three.all_in_s, one.all_in_s)}"
        )
    return 0 if all(r.all_in_s is not None for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
