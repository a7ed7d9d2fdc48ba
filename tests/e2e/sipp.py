"""Run sipp as an asyncio subprocess: one call of a scenario against a SIP server.

::

    async with Sipp(scenarios.dial(pcap, hold_seconds=2), ("127.0.0.1", port)) as sipp:
        rc = await sipp.wait(30)
        assert rc == 0, sipp.report()

sipp's exit codes: 0 all calls succeeded, 1 at least one failed, 97 exit on an internal
command, 99 normal exit without any call processed, 255 (-1) fatal error, 254 (-2) fatal
error binding a socket (e.g. the ``-mp`` port is taken). ``play_pcap_audio`` sends
through a raw socket, so the process needs root or CAP_NET_RAW; its packets leave from
``-mi``:``-mp`` (:attr:`Sipp.media_port`, the port ``[media_port]`` puts in the SDP) to
the address of the peer's SDP. sipp binds ``-mp`` and ``-mp + 2`` but reads neither
(unless ``-rtp_echo``): RTP sent to the caller just queues there, and
:class:`RtpTap` records it.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import shutil
import socket
import struct
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Literal, Self

from tests.e2e.peer_process import stop_process

__all__ = [
    "SIPP",
    "RtpTap",
    "Sipp",
    "SippError",
    "TappedPacket",
    "free_port",
    "free_udp_port",
    "sipp_available",
]

SIPP = shutil.which("sipp") or "/usr/bin/sipp"

_reserved: set[int] = set()  # ports handed out by this process, not to hand out twice


class SippError(RuntimeError):
    """sipp could not be started, or was used wrongly."""


def sipp_available() -> bool:
    return Path(SIPP).exists()


def _bindable(port: int, host: str, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def free_udp_port(
    host: str = "127.0.0.1", *, even: bool = False, span: int = 1, tcp: bool = False
) -> int:
    """A port where UDP (and with ``tcp`` also TCP) can be bound on ``host`` now, and
    ``span - 1`` more after it; ``even`` for an RTP port. Ports handed out before by this
    process are not handed out again (the OS might, once they are closed)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((host, 0))
            port: int = s.getsockname()[1]
        if even and port % 2:
            port += 1
        ports = range(port, port + span)
        if port + span > 65535 or any(p in _reserved for p in ports):
            continue
        kinds = [socket.SOCK_DGRAM] + ([socket.SOCK_STREAM] if tcp else [])
        if all(_bindable(p, host, k) for p in ports for k in kinds):
            _reserved.update(ports)
            return port
    raise SippError("no free port found")


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP (a SIP listening port)."""
    return free_udp_port(host, tcp=True)


class Sipp:
    """One sipp process running ``scenario`` (XML text) for one call against ``target``.

    The scenario, the message and error traces and sipp's output live in ``workdir`` (a
    new temporary directory unless given; removed on exit unless given or ``keep``).
    ``keys`` become ``-key name value`` (``[name]`` in the scenario). ``server=True``
    runs a UAS scenario: no target, sipp waits for calls on ``local_port``.
    ``scenario`` may also be ``"sn:<name>"`` for one of sipp's built-in scenarios.
    """

    def __init__(
        self,
        scenario: str,
        target: tuple[str, int] | None = None,
        *,
        transport: Literal["udp", "tcp"] = "udp",
        service: str = "100",
        keys: Mapping[str, str] | None = None,
        timeout: float = 60.0,
        local_ip: str = "127.0.0.1",
        local_port: int | None = None,
        media_ip: str = "127.0.0.1",
        media_port: int | None = None,
        calls: int = 1,
        extra_args: Sequence[str] = (),
        workdir: str | Path | None = None,
        keep: bool = False,
        server: bool = False,
    ) -> None:
        if target is None and not server:
            raise SippError("a client scenario needs a target")
        self.scenario = scenario
        self.target = target
        self.transport = transport
        self.service = service
        self.keys = dict(keys or {})
        self.timeout = timeout
        self.local_ip = local_ip
        self.local_port = local_port if local_port is not None else free_port(local_ip)
        self.media_ip = media_ip
        # sipp binds the audio port and the video port two above it
        self._media_port = (
            media_port if media_port is not None else free_udp_port(media_ip, even=True, span=4)
        )
        # sipp's UDP control socket (on all addresses; 8888 unless told): its own port,
        # so that concurrent sipps and whatever else owns 8888 do not meet
        self.control_port = free_udp_port("0.0.0.0")
        self.calls = calls
        self.extra_args = list(extra_args)
        self.server = server
        self._own_dir = workdir is None
        self.keep = keep
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp("-sipp"))
        self.process: asyncio.subprocess.Process | None = None
        self.returncode: int | None = None

    # -- files -----------------------------------------------------------------------------

    @property
    def media_port(self) -> int:
        """The ``-mp`` port: ``[media_port]`` in the SDP, and the source port of the RTP
        that ``play_pcap_audio`` sends."""
        return self._media_port

    @property
    def scenario_path(self) -> Path:
        return self.workdir / "scenario.xml"

    @property
    def message_path(self) -> Path:
        return self.workdir / "messages.log"

    @property
    def error_path(self) -> Path:
        return self.workdir / "errors.log"

    @property
    def stdout_path(self) -> Path:
        return self.workdir / "stdout.log"

    @property
    def stderr_path(self) -> Path:
        return self.workdir / "stderr.log"

    @staticmethod
    def _read(path: Path) -> str:
        try:
            # bytes, not read_text: keep the CRLFs of the SIP messages as sipp wrote them
            return path.read_bytes().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    @property
    def messages(self) -> str:
        """The SIP messages sipp sent and received so far (its ``-trace_msg`` log)."""
        return self._read(self.message_path)

    @property
    def errors(self) -> str:
        """sipp's ``-trace_err`` log: unexpected messages and why calls failed."""
        return self._read(self.error_path)

    @property
    def stdout(self) -> str:
        return self._read(self.stdout_path)

    @property
    def stderr(self) -> str:
        return self._read(self.stderr_path)

    def report(self) -> str:
        """Everything useful after a failure, for an assertion message."""
        code = self.process.returncode if self.process is not None else None
        return (
            f"sipp {' '.join(self.args())}\nexit code {code}\n"
            f"--- errors ---\n{self.errors}\n--- stderr ---\n{self.stderr[-4000:]}\n"
            f"--- messages ---\n{self.messages[-12000:]}"
        )

    # -- process -----------------------------------------------------------------------------

    def args(self) -> list[str]:
        if self.scenario.startswith("sn:"):
            scenario_args = ["-sn", self.scenario[3:]]
        else:
            scenario_args = ["-sf", str(self.scenario_path)]
        args = [
            *scenario_args,
            "-m", str(self.calls),
            "-l", str(self.calls),
            "-i", self.local_ip,
            "-p", str(self.local_port),
            "-mi", self.media_ip,
            "-mp", str(self.media_port),
            "-cp", str(self.control_port),
            "-t", "t1" if self.transport == "tcp" else "u1",
            "-s", self.service,
            "-timeout", f"{self.timeout:g}",
            "-timeout_error",
            "-nostdin",
            "-trace_msg", "-message_file", str(self.message_path),
            "-trace_err", "-error_file", str(self.error_path),
        ]  # fmt: skip
        for name, value in self.keys.items():
            args += ["-key", name, value]
        args += self.extra_args
        if self.target is not None and not self.server:
            args.append(f"{self.target[0]}:{self.target[1]}")
        return args

    async def start(self) -> Self:
        if self.process is not None:
            raise SippError("already started")
        if not sipp_available():
            raise SippError(f"sipp not found at {SIPP}")
        self.workdir.mkdir(parents=True, exist_ok=True)
        if not self.scenario.startswith("sn:"):
            self.scenario_path.write_text(self.scenario, "iso-8859-1")
        # output to files, not pipes: nothing has to drain them while the call runs
        with self.stdout_path.open("wb") as out, self.stderr_path.open("wb") as err:
            self.process = await asyncio.create_subprocess_exec(
                SIPP,
                *self.args(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                cwd=self.workdir,
                start_new_session=True,
            )
        return self

    async def wait(self, timeout: float | None = None) -> int:  # noqa: ASYNC109
        """Wait for sipp to exit; its exit code (0: every call passed). On ``timeout``
        seconds the process is killed and TimeoutError raised."""
        if self.process is None:
            raise SippError("not started")
        try:
            self.returncode = await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            await self.kill()
            raise
        return self.returncode

    async def kill(self) -> None:
        """Stop sipp if it still runs: SIGTERM, then SIGKILL after a second."""
        process = self.process
        if process is None:
            return
        await stop_process(process, 1.0)
        self.returncode = process.returncode

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.kill()
        if self._own_dir and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)


@dataclass(frozen=True, slots=True)
class TappedPacket:
    """A UDP datagram seen by :class:`RtpTap`; ``at`` is ``time.monotonic()``."""

    at: float
    src: tuple[str, int]
    dst: tuple[str, int]
    payload: bytes


class RtpTap:
    """Records the UDP datagrams delivered to ``port`` on this host, without owning it.

    What the caller hears: the server sends RTP to sipp's ``-mp`` port, which sipp binds
    but never reads (without ``-rtp_echo``), and which the test cannot bind as well. A raw
    socket gets a copy of every UDP datagram the host receives, so the tap sees them
    (root or CAP_NET_RAW needed, as for sipp's ``play_pcap_audio``). IPv4 only::

        async with RtpTap(sipp.media_port) as tap, Sipp(...) as sipp:
            ...
        audio = [RtpPacket.parse(p.payload) for p in tap.packets]
    """

    def __init__(self, port: int, *, host: str = "127.0.0.1") -> None:
        self.port = port
        self.host = host
        self.packets: list[TappedPacket] = []
        self._sock: socket.socket | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self._sock = sock
        self._task = asyncio.create_task(self._run(sock))
        return self

    async def _run(self, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = await loop.sock_recv(sock, 65535)
            now = time.monotonic()
            if len(data) < 28 or data[0] >> 4 != 4:
                continue
            ihl = (data[0] & 0x0F) * 4
            sport, dport, length = struct.unpack_from("!HHH", data, ihl)
            dst_ip = socket.inet_ntoa(data[16:20])
            if dport != self.port or dst_ip != self.host:
                continue
            src_ip = socket.inet_ntoa(data[12:16])
            payload = data[ihl + 8 : ihl + length]
            self.packets.append(TappedPacket(now, (src_ip, sport), (dst_ip, dport), payload))

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await asyncio.sleep(0.05)  # what is in flight still arrives
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._sock is not None:
            self._sock.close()
