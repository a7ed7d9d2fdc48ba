"""One ``confero serve`` as an operator runs it, in its own process (the soak measures the
whole server, not a piece of it in the runner's event loop): its own data directory,
HTTP and SIP ports, optionally pinned to a CPU with ``taskset``; accounts and rooms made
with the ``confero`` CLI before it starts; ``kill -9`` and a restart on the same data."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

PASSWORD = "soak-password-1"


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 (HTTP and SIP)."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port: int = s.getsockname()[1]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            try:
                u.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port")


def end_process(
    process: subprocess.Popen[Any] | None, grace: float, *, terminate: bool = True
) -> None:
    """SIGTERM (unless the caller already asked it to quit), then SIGKILL after
    ``grace`` seconds; nothing if it already ended. For every process the soak and the
    benchmarks start."""
    if process is None or process.poll() is not None:
        return
    if terminate:
        process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def wait_http(url: str, timeout: float = 30.0) -> None:
    """Until ``url`` answers at all (a server that was just started), or raise."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


@dataclass(frozen=True)
class Room:
    id: str
    number: str
    pin: str
    admin_pin: str


@dataclass
class Server:
    """A server on ``data_dir``; ``env`` adds ``CONFERO_*`` settings to the defaults."""

    data_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    cpu: int | None = None
    #: ``nice`` steps the server (and so its workers) runs at: below zero it goes ahead of
    #: the load generator on the same cores, as a server is the machine's main job
    nice: int = 0
    http_port: int = field(default_factory=free_port)
    sip_port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "CONFERO_DATA_DIR": str(self.data_dir),
            "CONFERO_DATABASE_URL": "",
            "CONFERO_HTTP_PORT": str(self.http_port),
            "CONFERO_SIP_PORT": str(self.sip_port),
            "CONFERO_LOG_LEVEL": "warning",
            **self.env,
        }

    def cli(self, *args: str) -> str:
        """``confero ARGS`` on this server's data; its output."""
        done = subprocess.run(
            [sys.executable, "-m", "confero.cli", *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"confero {' '.join(args)}: {done.stdout}{done.stderr}")
        return done.stdout

    def create_owner(self, email: str) -> None:
        self.cli("admin", "create", "--email", email, "--password", PASSWORD)

    @contextlib.contextmanager
    def api(self, email: str) -> Iterator[httpx.Client]:
        """A REST client signed in as ``email`` (made with ``create_owner``) with a bearer
        token from ``POST /api/v1/tokens``."""
        with httpx.Client(base_url=self.base, timeout=30) as web:
            answer = web.post("/api/v1/tokens", json={"email": email, "password": PASSWORD})
            answer.raise_for_status()
            web.headers["Authorization"] = f"Bearer {answer.json()['token']}"
            yield web

    def create_room(self, owner: str, name: str, capacity: int) -> Room:
        out = self.cli(
            "room", "create", "--owner", owner, "--name", name, "--capacity", str(capacity)
        )
        found = re.search(r"room (\S+): .* number (\d+) PIN (\d+) admin PIN (\d+)", out)
        if found is None:
            raise RuntimeError(f"unexpected output of room create: {out}")
        return Room(*found.groups())

    def start(self, timeout: float = 60.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "confero.cli", "serve"]
        if self.cpu is not None and shutil.which("taskset"):
            command = ["taskset", "-c", str(self.cpu), *command]
        if self.nice:
            command = ["nice", "-n", str(self.nice), *command]
        with self.log_path.open("ab") as log:
            log.write(f"--- start {self.starts + 1}\n".encode())
            log.flush()
            self.process = subprocess.Popen(
                command, env=self.environment(), stdout=log, stderr=subprocess.STDOUT
            )
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                if httpx.get(f"{self.base}/api/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"server did not answer within {timeout} s: {self.log()}")

    def kill(self) -> None:
        """``kill -9``: no shutdown code runs (the crash the soak survives)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def stop(self) -> None:
        end_process(self.process, 30)
        self.process = None

    def health(self) -> dict[str, object]:
        answer = httpx.get(f"{self.base}/api/health", timeout=10)
        answer.raise_for_status()
        result: dict[str, object] = answer.json()
        return result

    def metrics(self) -> str:
        """The Prometheus exposition (``/metrics``: loopback only, as here)."""
        answer = httpx.get(f"{self.base}/metrics", timeout=10)
        answer.raise_for_status()
        return answer.text

    def _pids(self) -> list[int]:
        """The server's process and its children (media workers, issue 15 P4)."""
        if self.process is None:
            return []
        pids = [self.process.pid]
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, IndexError, ValueError):
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                    pids.append(int(stat.parent.name))
        return pids

    def rss_mb(self) -> float:
        """The server's resident memory (with its media workers'), from /proc."""
        total = 0.0
        for pid in self._pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) / 1024
        return total

    def cpu_seconds(self) -> float:
        """User plus system CPU the server (and its media workers) used, from /proc."""
        total = 0.0
        for pid in self._pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except FileNotFoundError:
            return ""

    def tracebacks(self) -> int:
        try:
            return self.log_path.read_text(errors="replace").count("Traceback")
        except FileNotFoundError:
            return 0
