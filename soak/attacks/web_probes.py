"""Measurements taken from threads of their own while an attack runs: ``/api/health``
timed with curl where there is one (its own timing, free of this process's load), and the
server's resident memory sampled every 50 ms."""

from __future__ import annotations

import contextlib
import shutil
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Self

import httpx

from soak.server import Server


class _Background:
    """A sampler's thread: started on ``with``, stopped and joined on leaving it."""

    _stop: threading.Event
    _thread: threading.Thread | None
    join_timeout: float = 5.0

    def _run(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.join_timeout)


@dataclass
class HealthProbe(_Background):
    """Times ``GET /api/health`` every ``interval`` seconds from its own thread."""

    base: str
    interval: float = 0.25
    timeout: float = 15.0
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.join_timeout = self.timeout + 5

    def _run(self) -> None:
        curl = shutil.which("curl")
        with httpx.Client(timeout=self.timeout) as client:
            while not self._stop.is_set():
                if curl is not None:
                    self._curl(curl)
                else:
                    self._httpx(client)
                self._stop.wait(self.interval)

    def _curl(self, curl: str) -> None:
        """curl's own timing: this process's load (hundreds of sockets) stays out of it."""
        done = subprocess.run(
            [
                curl,
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code} %{time_total}",
                "--max-time",
                str(self.timeout),
                f"{self.base}/api/health",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        status, _, took = done.stdout.partition(" ")
        if status == "200":
            self.latencies.append(float(took))
        else:
            self.failures.append(status if status not in ("", "000") else f"curl {done.returncode}")

    def _httpx(self, client: httpx.Client) -> None:
        started = time.monotonic()
        try:
            status = client.get(f"{self.base}/api/health").status_code
            if status != 200:
                self.failures.append(str(status))
            else:
                self.latencies.append(time.monotonic() - started)
        except httpx.HTTPError as exc:
            self.failures.append(type(exc).__name__)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=float("nan"))

    def summary(self) -> str:
        if not self.latencies:
            return f"health: no answer ({len(self.failures)} failures)"
        median = statistics.median(self.latencies) * 1000
        text = f"health median {median:.0f} ms, max {self.worst * 1000:.0f} ms"
        text += f" over {len(self.latencies)} probes"
        return text + (f", {len(self.failures)} failed" if self.failures else ", none failed")


@dataclass
class RssSampler(_Background):
    """Samples the server's resident memory every 50 ms from its own thread."""

    server: Server
    peak: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(OSError, ValueError):
                self.peak = max(self.peak, self.server.rss_mb())
            self._stop.wait(0.05)
