"""Run baresip (an independent SIP user agent, Debian's ``baresip-core``) as a phone the
test drives: the interop matrix of issue 13 (F-PH1) dials in with it as well as with sipp.

Why baresip: it is a complete softphone (SIP over UDP and TCP, G.711, G.722, Opus, RFC
2833 digits, hold and resume by re-INVITE) that runs headless, so a test can use it as a
person would use a desk phone. Each instance gets its own config dir (``-f``):

* ``ctrl_tcp`` is the remote control: netstring-framed JSON commands (``dial``,
  ``sndcode`` for a key, ``hold``, ``resume``, ``hangup``) and the events it pushes
  (``CALL_ESTABLISHED``, ``CALL_CLOSED``, ...) on the same connection.
* ``aufile`` is the microphone: a WAV of one sine tone written here (16 kHz mono, baresip
  resamples to the codec's rate).
* ``sndfile`` records what the phone hears: an audio filter that writes the decoded
  stream of each call to ``dump-<time>-dec.wav`` (at the codec's rate; complete once
  the call ended), so the test hears what the user would hear. baresip 1.0's
  ``aufile`` has no player; ``aubridge`` (an in-process loopback device with no source
  on the same name) is the silent speaker that keeps the receive path running.
  Quirk of 1.0: once it puts a call on hold it stops sending RTP, and its recording
  stops for good (nothing after the resume is recorded, though it is received).
* the account's ``audio_codecs`` forces one codec (``PCMU``, ``PCMA``, ``G722``,
  ``opus``), ``;transport=tcp`` on the dialled URI picks TCP. Keys go out as RFC 2833
  events (baresip's default whenever the answer has telephone-event).

::

    async with Baresip(tmp_path / "alice", tone=440, codec="PCMA") as alice:
        await alice.dial(f"sip:5000@127.0.0.1:{port}")
        await alice.press("1234#")
        ...
        await alice.hangup()
    audio, rate = alice.heard()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import wave
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, Self

import numpy as np
import numpy.typing as npt

from confero.media.tone import sine
from tests.e2e.peer_process import read_log, stop_process
from tests.e2e.sipp import free_port

__all__ = ["BARESIP", "CODECS", "Baresip", "BaresipError", "Transport", "baresip_available"]

BARESIP = shutil.which("baresip") or "/usr/bin/baresip"
MODULES = Path("/usr/lib/baresip/modules")

#: the microphone's sample rate (ausrc_srate): G.722 and Opus get real wideband input
SOURCE_RATE = 16000

Transport = Literal["udp", "tcp"]

#: baresip's names for the codecs (name/rate/channels as its codec modules register
#: them; a name alone means 8000 Hz, and an unknown one silently offers every codec)
CODECS = {
    "PCMU": "PCMU/8000/1",
    "PCMA": "PCMA/8000/1",
    "G722": "G722/16000/1",
    "opus": "opus/48000/1",
}


class BaresipError(RuntimeError):
    """baresip could not be started, or a command failed."""


def baresip_available() -> bool:
    return Path(BARESIP).exists() and (MODULES / "ctrl_tcp.so").exists()


def _netstring(payload: bytes) -> bytes:
    return str(len(payload)).encode() + b":" + payload + b","


class Baresip:
    """One baresip process with one account; ``tone`` Hz is what its microphone plays
    (``None``: silence), ``codec`` the only audio codec it offers."""

    def __init__(
        self,
        workdir: Path,
        *,
        user: str = "baresip",
        tone: float | None = None,
        codec: str = "PCMU",
        amplitude: float = 0.3,
        seconds: float = 60.0,
    ) -> None:
        self.workdir = workdir
        self.user = user
        self.tone = tone
        self.codec = codec
        self.amplitude = amplitude
        self.seconds = seconds
        self.sip_port = 0  #: picked by start()
        self.ctrl_port = 0
        self.events: list[dict[str, Any]] = []
        self.process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._replies: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._changed = asyncio.Event()
        self._token = 0

    # -- files -----------------------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.workdir / "baresip.log"

    @property
    def log(self) -> str:
        return read_log(self.log_path)

    def report(self) -> str:
        """For an assertion message: the events and the end of baresip's own log."""
        events = "\n".join(json.dumps(e) for e in self.events)
        # without the call status line that menu repaints many times a second
        log = "\n".join(line for line in self.log.splitlines() if "bit/s)" not in line)
        return f"--- events ---\n{events}\n--- baresip -v -s ---\n{log[-8000:]}"

    def _write_files(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        source = self.workdir / "microphone.wav"
        if self.tone is None:
            samples = np.zeros(round(self.seconds * SOURCE_RATE), np.int16)
        else:
            samples = sine(self.tone, self.seconds, SOURCE_RATE, amplitude=self.amplitude)
        with wave.open(str(source), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SOURCE_RATE)
            w.writeframes(samples.astype("<i2").tobytes())
        config = f"""\
poll_method epoll
sip_listen 127.0.0.1:{self.sip_port}
net_interface 127.0.0.1
call_local_timeout 30
call_max_calls 1
audio_player aubridge,speaker
audio_source aufile,{source}
audio_alert aubridge,speaker
ausrc_srate {SOURCE_RATE}
ausrc_channels 1
audio_buffer 40
jitter_buffer_delay 1-4
rtcp_mux no
rtp_stats yes
module_path {MODULES}
module g711.so
module g722.so
module opus.so
module aufile.so
module aubridge.so
module sndfile.so
module_tmp account.so
module_app ctrl_tcp.so
module_app menu.so
ctrl_tcp_listen 127.0.0.1:{self.ctrl_port}
snd_path {self.workdir}
opus_stereo no
opus_sprop_stereo no
"""
        (self.workdir / "config").write_text(config)
        (self.workdir / "accounts").write_text(
            f"<sip:{self.user}@127.0.0.1>;regint=0;audio_codecs={CODECS[self.codec]}\n"
        )
        (self.workdir / "contacts").write_text("")

    # -- process and control connection ---------------------------------------------------

    async def start(self) -> Self:
        """Start baresip and connect to its ctrl_tcp. Its SIP and control ports are
        picked free just before; when another process took one meanwhile (other tests
        run beside), it starts again on new ones."""
        if self.process is not None:
            raise BaresipError("already started")
        if not baresip_available():
            raise BaresipError(f"baresip (and its ctrl_tcp module) not found at {BARESIP}")
        for _ in range(3):
            self.sip_port = free_port()
            self.ctrl_port = free_port()
            self._write_files()
            if await self._spawn():
                break
        else:
            raise BaresipError(f"baresip found no free port three times\n{self.log}")
        self._task = asyncio.create_task(self._read())
        if "codec not found" in self.log:
            raise BaresipError(f"baresip lacks the codec {self.codec}\n{self.log}")
        return self

    async def _spawn(self) -> bool:
        """One start; False when a port it was given is taken by now."""
        with self.log_path.open("wb") as log:
            process = self.process = await asyncio.create_subprocess_exec(
                BARESIP,
                "-f",
                str(self.workdir),
                "-v",
                "-s",
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=asyncio.subprocess.STDOUT,
                cwd=self.workdir,
                start_new_session=True,
            )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while True:
            if process.returncode is not None:
                if "Address already in use" in self.log:
                    return False
                raise BaresipError(f"baresip exited with {process.returncode}\n{self.log}")
            try:
                self._reader, self._writer = await asyncio.open_connection(
                    "127.0.0.1", self.ctrl_port
                )
                return True
            except OSError:
                if loop.time() > deadline:
                    raise BaresipError(f"ctrl_tcp never listened\n{self.log}") from None
                await asyncio.sleep(0.05)

    async def _read(self) -> None:
        assert self._reader is not None
        while True:
            try:
                length = await self._reader.readuntil(b":")
                body = await self._reader.readexactly(int(length[:-1]) + 1)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                return
            message: dict[str, Any] = json.loads(body[:-1])
            if message.get("response"):
                future = self._replies.pop(str(message.get("token")), None)
                if future is not None and not future.done():
                    future.set_result(message)
            elif message.get("event"):
                self.events.append(message)
                self._changed.set()

    async def command(self, name: str, params: str = "") -> dict[str, Any]:
        """Run one ctrl_tcp command; its response (``ok``, ``data``); a refusal raises."""
        if self._writer is None:
            raise BaresipError("not started")
        self._token += 1
        token = str(self._token)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._replies[token] = future
        payload = json.dumps({"command": name, "params": params, "token": token})
        self._writer.write(_netstring(payload.encode()))
        await self._writer.drain()
        reply = await asyncio.wait_for(future, 5)
        if not reply.get("ok"):
            raise BaresipError(f"{name} {params}: {reply.get('data')}\n{self.report()}")
        return reply

    async def event(self, kind: str, timeout: float = 15) -> dict[str, Any]:  # noqa: ASYNC109
        """The first event of type ``kind`` (``CALL_ESTABLISHED``, ``CALL_CLOSED``, ...),
        waiting up to ``timeout`` seconds for it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for e in self.events:
                if e.get("type") == kind:
                    return e
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise BaresipError(f"no {kind} in {timeout:g} s\n{self.report()}")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def closed(self) -> bool:
        return any(e.get("type") == "CALL_CLOSED" for e in self.events)

    # -- what a person does ----------------------------------------------------------------

    async def dial(self, uri: str, *, transport: Transport = "udp") -> None:
        """Call ``uri`` and wait until the call is answered."""
        if transport == "tcp":
            uri += ";transport=tcp"
        await self.command("dial", uri)
        await self.event("CALL_ESTABLISHED")

    async def press(self, keys: str, gap: float = 0.12) -> None:
        """Each key as one press (RFC 2833 start and end), ``gap`` seconds apart."""
        for key in keys:
            await self.command("sndcode", key)
            await asyncio.sleep(gap)

    async def hold(self) -> None:
        await self.command("hold")

    async def resume(self) -> None:
        await self.command("resume")

    async def hangup(self) -> None:
        if not self.closed():
            await self.command("hangup")
        await self.event("CALL_CLOSED", 10)

    def codecs_used(self) -> list[str]:
        """The codecs it encoded with, in order (``PCMU``, ``G722``, ``opus``, ...)."""
        marker = "audio: Set audio encoder: "
        return [
            line.split(marker, 1)[1].split()[0] for line in self.log.splitlines() if marker in line
        ]

    def heard(self) -> tuple[npt.NDArray[np.int16], int]:
        """What the phone heard in its (ended) call, decoded, and the sample rate."""
        dumps = sorted(self.workdir.glob("dump-*-dec.wav"))
        if not dumps:
            raise BaresipError(f"no recording of what it heard\n{self.report()}")
        with wave.open(str(dumps[-1]), "rb") as w:
            rate = w.getframerate()
            channels = w.getnchannels()
            data = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.int16)
        if channels > 1:
            data = data.reshape(-1, channels)[:, 0].copy()
        return data, rate

    async def stop(self) -> None:
        """Quit baresip: SIGTERM (it hangs up and flushes its recordings), then SIGKILL."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await stop_process(self.process, 3.0)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
