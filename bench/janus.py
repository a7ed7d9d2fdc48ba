"""Janus (Debian's ``janus``, AudioBridge plugin) as a reference mixer for the benches.

:class:`Janus` writes a private configuration folder (AudioBridge is the only plugin,
plain HTTP on a free loopback port the only transport, no admin API, quiet log), starts
``janus`` pinned to one core with ``taskset``, waits until its HTTP API answers and
stops it again. :class:`JanusClient` speaks the Janus HTTP API (session, AudioBridge
handles, ``create`` rooms that allow plain-RTP participants, ``join`` one plain-RTP
participant per handle) and keeps the session alive from a thread.
:meth:`Janus.cpu_seconds` reads the process's CPU time from /proc for the measured window.

``scripts/system-deps.sh bench`` installs the package (``make bench`` runs it).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
from soak.server import end_process

JANUS = "/usr/bin/janus"
LIBDIR = Path("/usr/lib/x86_64-linux-gnu/janus")
PLUGIN = "janus.plugin.audiobridge"


class JanusUnavailable(RuntimeError):
    """Janus is not installed or did not start; the message says why."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _all_but(folder: Path, keep: str) -> str:
    names = sorted(p.name for p in folder.glob("*.so")) if folder.is_dir() else []
    return ",".join(n for n in names if n != keep)


def write_config(folder: Path, http_port: int, rtp_range: str = "30000-40000") -> None:
    plugins = _all_but(LIBDIR / "plugins", "libjanus_audiobridge.so")
    transports = _all_but(LIBDIR / "transports", "libjanus_http.so")
    loggers = _all_but(LIBDIR / "loggers", "")
    (folder / "janus.jcfg").write_text(
        f"""general: {{
	configs_folder = "{folder}"
	plugins_folder = "{LIBDIR / "plugins"}"
	transports_folder = "{LIBDIR / "transports"}"
	events_folder = "{LIBDIR / "events"}"
	loggers_folder = "{LIBDIR / "loggers"}"
	debug_level = 2
	session_timeout = 120
	server_name = "confero-bench"
}}
media: {{
	rtp_port_range = "{rtp_range}"
}}
nat: {{
	ice_ignore_list = "vmnet"
}}
plugins: {{
	disable = "{plugins}"
}}
transports: {{
	disable = "{transports}"
}}
loggers: {{
	disable = "{loggers}"
}}
events: {{
	broadcast = false
}}
"""
    )
    (folder / "janus.plugin.audiobridge.jcfg").write_text(
        f"""general: {{
	local_ip = "127.0.0.1"
	rtp_port_range = "{rtp_range}"
	events = false
}}
"""
    )
    (folder / "janus.transport.http.jcfg").write_text(
        f"""general: {{
	json = "plain"
	base_path = "/janus"
	http = true
	port = {http_port}
	interface = "lo"
	ip = "127.0.0.1"
	https = false
}}
admin: {{
	admin_http = false
	admin_https = false
}}
"""
    )


class Janus:
    """A private Janus process: ``with Janus(core=0) as j: j.client() ...``."""

    def __init__(self, core: int | None = 0) -> None:
        self.core = core
        self.port = 0
        self.url = ""
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def start(self, timeout: float = 15.0) -> None:
        if not os.access(JANUS, os.X_OK):
            raise JanusUnavailable(f"{JANUS} not installed: scripts/system-deps.sh bench")
        self._dir = tempfile.TemporaryDirectory(prefix="confero-janus-")
        folder = Path(self._dir.name)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/janus"
        write_config(folder, self.port)
        pinned = self.core is not None and shutil.which("taskset")
        pin = ["taskset", "-c", str(self.core)] if pinned else []
        log = open(folder / "janus.log", "wb")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                *pin,
                JANUS,
                f"--configs-folder={folder}",
                f"--config={folder / 'janus.jcfg'}",
                "--disable-colors",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                tail = (folder / "janus.log").read_text(errors="replace").strip().splitlines()[-3:]
                why = f"janus exited with {self.proc.returncode}: {' | '.join(tail)}"
                raise JanusUnavailable(why)
            try:
                r = httpx.get(f"{self.url}/info", timeout=1.0)
                if r.status_code == 200 and PLUGIN in r.json().get("plugins", {}):
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise JanusUnavailable(f"janus did not answer on {self.url} within {timeout:.0f} s")

    def stop(self) -> None:
        end_process(self.proc, 5)
        self.proc = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def __enter__(self) -> Janus:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def log_path(self) -> Path | None:
        return Path(self._dir.name) / "janus.log" if self._dir is not None else None

    def cpu_seconds(self) -> float:
        """User + system CPU time of the janus process (all its threads) so far."""
        assert self.proc is not None
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # fields[0] is the state (field 3); utime and stime are fields 14 and 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def client(self) -> JanusClient:
        return JanusClient(self.url)


class JanusError(RuntimeError):
    pass


class JanusClient:
    """A synchronous Janus HTTP API client for one session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(timeout=30.0)
        self.session = 0
        self._events: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._keepalive: threading.Thread | None = None

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": body.get("transaction") or secrets.token_hex(8)}
        r = self.http.post(f"{self.url}{path}", json=body)
        r.raise_for_status()
        answer: dict[str, Any] = r.json()
        if answer.get("janus") == "error":
            raise JanusError(f"{body.get('janus')}: {answer.get('error')}")
        return answer

    def create_session(self) -> int:
        self.session = int(self._post("", {"janus": "create"})["data"]["id"])
        self._keepalive = threading.Thread(target=self._keep_alive, daemon=True)
        self._keepalive.start()
        return self.session

    def _keep_alive(self) -> None:
        while not self._stop.wait(15.0):
            try:
                self._post(f"/{self.session}", {"janus": "keepalive"})
            except (httpx.HTTPError, JanusError):
                return

    def attach(self) -> int:
        answer = self._post(f"/{self.session}", {"janus": "attach", "plugin": PLUGIN})
        return int(answer["data"]["id"])

    def message(self, handle: int, body: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Sends a plugin request; returns the plugin's data, waiting for the event if the
        answer is asynchronous (``ack`` first, the event on the long poll)."""
        transaction = secrets.token_hex(8)
        answer = self._post(
            f"/{self.session}/{handle}",
            {"janus": "message", "body": body, "transaction": transaction},
        )
        if answer.get("janus") == "ack":
            answer = self._wait_event(transaction, timeout)
        data: dict[str, Any] = answer.get("plugindata", {}).get("data", {})
        if "error" in data:
            raise JanusError(f"{body.get('request')}: {data['error']} ({data.get('error_code')})")
        return data

    def _wait_event(self, transaction: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if transaction in self._events:
                    return self._events.pop(transaction)
                r = self.http.get(f"{self.url}/{self.session}", params={"maxev": 50}, timeout=35.0)
                r.raise_for_status()
                events = r.json()
                for event in events if isinstance(events, list) else [events]:
                    if event.get("transaction"):
                        self._events[event["transaction"]] = event
        raise JanusError(f"no answer to transaction {transaction} in {timeout:.0f} s")

    def create_room(self, room: int, sampling_rate: int = 16000) -> None:
        handle = self.attach()
        self.message(
            handle,
            {
                "request": "create",
                "room": room,
                "sampling_rate": sampling_rate,
                "allow_rtp_participants": True,
                "audiolevel_event": False,
                "record": False,
            },
        )
        self.detach(handle)

    def join_rtp(self, room: int, ip: str, port: int, display: str = "") -> tuple[int, str, int]:
        """A plain-RTP PCMU participant sending from and receiving on ``ip:port``;
        returns its handle and the address Janus receives its RTP on."""
        handle = self.attach()
        data = self.message(
            handle,
            {
                "request": "join",
                "room": room,
                "display": display,
                "codec": "pcmu",
                "rtp": {"ip": ip, "port": port, "payload_type": 0},
            },
        )
        rtp = data.get("rtp")
        if not rtp or not rtp.get("port"):
            raise JanusError(f"join: no rtp address in the joined event: {data}")
        return handle, str(rtp.get("ip") or ip), int(rtp["port"])

    def detach(self, handle: int) -> None:
        self._post(f"/{self.session}/{handle}", {"janus": "detach"})

    def close(self) -> None:
        self._stop.set()
        if self.session:
            with contextlib.suppress(httpx.HTTPError, JanusError):
                self._post(f"/{self.session}", {"janus": "destroy"})
        self.http.close()
