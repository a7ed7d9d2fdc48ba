"""Web API throughput against the framework's own, from one run (issue 17, P4/P6).

Each server is pinned to one core (``taskset``), ``wrk`` (Debian) to the other, 2
threads and 32 connections for ``seconds`` per figure:

- **baseline**: a trivial FastAPI route (``bench.web_baseline``) under uvicorn with
  uvloop and httptools, as ``confero serve`` runs: what the framework itself can do here;
- **rooms**: ``GET /api/v1/rooms`` with a bearer token, for an account with one room;
- **chat**: ``POST /api/v1/rooms/{id}/chat`` with a bearer token. A sender may post 10
  messages per 10 s in one room (issue 14's chat limits), so the posts go round
  ``--chat-rooms`` rooms of the account; any refusal would show as non-2xx. Afterwards
  the messages stored are counted in the database: fewer than the 201 answers wrk
  counted is a lost message (more is fine: wrk stops with posts in flight).

Each server figure is measured on the embedded SQLite (``make run``'s default) and on
PostgreSQL (``--pg-url``, a database the bench drops and creates; skipped with a message
when PostgreSQL does not answer). The ratio column is requests per second against the
baseline's. Below the table, each figure against issue 17's target: reads at least
1,000/s with p99 under 50 ms, chat posts at least 500/s with p99 under 100 ms, and
neither a refusal nor a lost message.

Usage: python -m bench.web_api [--seconds 5] [--server-core 0] [--client-core 1]
       [--chat-rooms 1000] [--pg-url postgresql://postgres@127.0.0.1:5432/confero_bench]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
from soak.server import Server, end_process

from bench import web_baseline

OWNER = "web@confero.test"
POSTER = "poster@confero.test"
PG_URL = "postgresql://postgres@127.0.0.1:5432/confero_bench"


@dataclass
class Figure:
    name: str
    requests: int
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int
    non_2xx: int
    cpu: float
    stored: int | None = None

    def row(self, baseline: float) -> str:
        stored = "" if self.stored is None else f"{self.stored:,}"
        lost = ""
        if self.stored is not None:
            lost = str(max(0, self.requests - self.non_2xx - self.stored))
        return (
            f"| {self.name} | {self.rps:,.0f} | {self.rps / baseline:.3f} | {self.p50_ms:.1f} "
            f"| {self.p99_ms:.1f} | {self.non_2xx + self.errors} | {stored} | {lost} "
            f"| {self.cpu:.0f}% |"
        )


HEADER = (
    "| request | requests/s | ratio to baseline | p50 ms | p99 ms | errors + non-2xx "
    "| stored | lost | server CPU |\n"
    "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def wrk(
    url: str, seconds: float, core: int | None, script: Path | None = None, name: str = ""
) -> Figure:
    command = ["wrk", "-t2", "-c32", f"-d{seconds:g}s", "--latency", "--timeout", "10s"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if core is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(core), *command]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    pct = dict(re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", out, re.M))

    def percentile(p: str) -> float:
        found = re.fullmatch(r"([\d.]+)(us|ms|s)", pct[p])
        assert found is not None, out
        return _ms(*found.groups())

    done = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    assert done and rps, out
    return Figure(
        name=name,
        requests=int(done.group(1)),
        rps=float(rps.group(1)),
        p50_ms=percentile("50"),
        p99_ms=percentile("99"),
        errors=sum(int(g) for g in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        cpu=0.0,
    )


#: Issue 17's targets on one core: (requests/s at least, p99 ms under).
TARGETS = {"GET": (1000.0, 50.0), "POST": (500.0, 100.0)}


def meets_target(f: Figure) -> bool:
    """At least the rate, under the p99, nothing refused or failed, nothing lost."""
    rate, p99 = TARGETS[f.name.split()[0]]
    lost = f.stored is not None and f.stored < f.requests - f.non_2xx
    return f.rps >= rate and f.p99_ms < p99 and f.errors + f.non_2xx == 0 and not lost


def cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100.0


def measured(pid: int, run: Callable[[], Figure]) -> Figure:
    before, started = cpu_of(pid), time.monotonic()
    figure = run()
    figure.cpu = (cpu_of(pid) - before) / (time.monotonic() - started) * 100
    return figure


def baseline(workdir: Path, seconds: float, server_core: int, client_core: int) -> Figure:
    process, port = web_baseline.serve(
        "bench.web_baseline:app", server_core, workdir / "baseline.log", "/ping"
    )
    try:
        url = f"http://127.0.0.1:{port}/ping"
        wrk(url, 1, client_core)  # warm-up
        return measured(
            process.pid, lambda: wrk(url, seconds, client_core, name="baseline: trivial route")
        )
    finally:
        end_process(process, 10)


def chat_script(workdir: Path, token: str, rooms: list[str]) -> Path:
    """A wrk script posting round the rooms, each thread from its own offset."""
    ids = ",".join(f'"{r}"' for r in rooms)
    script = workdir / "chat.lua"
    script.write_text(
        f"""
local rooms = {{{ids}}}
local threads = 0
local counter = 0
function setup(thread)
  thread:set("offset", threads * {max(1, len(rooms) // 2)})
  threads = threads + 1
end
function init(args)
  counter = offset
end
function request()
  counter = counter + 1
  local room = rooms[(counter % #rooms) + 1]
  return wrk.format("POST", "/api/v1/rooms/" .. room .. "/chat",
    {{["Content-Type"] = "application/json", ["Authorization"] = "Bearer {token}"}},
    '{{"text": "bench message ' .. counter .. '"}}')
end
"""
    )
    return script


def bearer(web: httpx.Client) -> str:
    """The token a ``Server.api`` client signs in with (wrk's scripts send it too)."""
    return web.headers["Authorization"].removeprefix("Bearer ")


def stored_messages(server: Server, pg_url: str | None) -> int:
    if pg_url is None:
        with sqlite3.connect(server.data_dir / "confero.db") as db:
            count: int = db.execute("SELECT count(*) FROM chat_messages").fetchone()[0]
            return count

    async def pg() -> int:
        conn = await asyncpg.connect(pg_url)
        try:
            value: int = await conn.fetchval("SELECT count(*) FROM chat_messages")
            return value
        finally:
            await conn.close()

    return asyncio.run(pg())


def server_figures(
    workdir: Path,
    label: str,
    pg_url: str | None,
    *,
    seconds: float,
    chat_rooms: int,
    server_core: int,
    client_core: int,
) -> list[Figure]:
    env = {"CONFERO_SIP_ENABLED": "false"}
    if pg_url is not None:
        env["CONFERO_DATABASE_URL"] = pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    server = Server(workdir / f"server-{label}", env=env, cpu=server_core)
    server.create_owner(OWNER)
    server.create_owner(POSTER)
    server.start()
    assert server.process is not None
    pid = server.process.pid
    try:
        with server.api(OWNER) as web:
            web.post("/api/v1/rooms", json={"name": "Weekly"}).raise_for_status()
            reader = bearer(web)
        with server.api(POSTER) as web:
            poster = bearer(web)
            rooms = []
            for n in range(chat_rooms):
                made = web.post("/api/v1/rooms", json={"name": f"Chat {n + 1}"})
                made.raise_for_status()
                rooms.append(made.json()["id"])
        rooms_url = f"{server.base}/api/v1/rooms"
        read_script = workdir / "read.lua"
        read_script.write_text(f'wrk.headers["Authorization"] = "Bearer {reader}"\n')
        wrk(rooms_url, 1, client_core, read_script)  # warm-up
        read = measured(
            pid,
            lambda: wrk(
                rooms_url, seconds, client_core, read_script, f"GET /api/v1/rooms ({label})"
            ),
        )
        post = measured(
            pid,
            lambda: wrk(
                f"{server.base}/",
                seconds,
                client_core,
                chat_script(workdir, poster, rooms),
                f"POST .../chat ({label})",
            ),
        )
        time.sleep(0.5)
        post.stored = stored_messages(server, pg_url)
        return [read, post]
    finally:
        server.stop()


def fresh_pg(url: str) -> bool:
    """Drop and create the bench's database; False when PostgreSQL does not answer."""

    async def make() -> None:
        base, _, name = url.rpartition("/")
        conn = await asyncpg.connect(f"{base}/postgres", timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    try:
        asyncio.run(make())
    except (TimeoutError, OSError) as exc:
        print(f"web_api: PostgreSQL skipped ({exc})", flush=True)
        return False
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--client-core", type=int, default=1)
    parser.add_argument("--chat-rooms", type=int, default=1000)
    parser.add_argument("--pg-url", default=PG_URL)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("web_api: skipped, wrk is not installed (scripts/system-deps.sh bench)")
        return 0
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="confero-web-api-"))
    workdir.mkdir(parents=True, exist_ok=True)
    cores = {"seconds": args.seconds, "server_core": args.server_core}
    base = baseline(workdir, client_core=args.client_core, **cores)
    figures = server_figures(
        workdir, "SQLite", None, chat_rooms=args.chat_rooms, client_core=args.client_core, **cores
    )
    if fresh_pg(args.pg_url):
        figures += server_figures(
            workdir,
            "PostgreSQL",
            args.pg_url,
            chat_rooms=args.chat_rooms,
            client_core=args.client_core,
            **cores,
        )
    print(f"\nweb API, server on core {args.server_core}, wrk -t2 -c32 on core {args.client_core}")
    print(HEADER)
    print(base.row(base.rps))
    for f in figures:
        print(f.row(base.rps))
    for f in figures:
        print(f"target {f.name}: {'met' if meets_target(f) else 'MISSED'}")
    print(json.dumps({"baseline_rps": base.rps, **{f.name: f.rps for f in figures}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
