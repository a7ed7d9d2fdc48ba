"""The phone soak of issue 14: many sipp callers through the whole IVR for minutes, an
INVITE flood in the middle, and the figures that say whether anyone noticed.

Every caller dials the shared access number, presses 1, types the conference number
and the PIN (SIP INFO, from sipp's CSV: one room per line), skips the name with #, talks
(a PCMU stream from ``play_pcap_audio``: a 1 s tone every 10 s, silence between, so the
media timeout never hangs anyone up and about one caller in ten talks at a time), and
hangs up after ``hold`` seconds; sipp starts a new call whenever one ends, so
``callers`` stay in the rooms (ten to a room) for the whole run. The callers come from
four loopback addresses (127.0.0.2-5) like callers from several networks, so the
per-source cap stays at its default; the server is pinned to CPU 0, sipp and this
runner to CPU 1.

A sipp call fails on anything unexpected (a missing answer, a BYE from the server, an
INFO not answered within 10 s), so "0 failed calls" means every caller got through the
IVR and stayed until they hung up. Whether they really sat in the conference is sampled
from the REST API (participants per room). The tick's lateness comes from the server's
own counters (``/api/health``); OPTIONS from a fifth address measures how quickly SIP
is answered; the flood (500 INVITEs in 5 s from 127.0.0.9, never ACKed, SDP pointing
at a port that reads nothing) is the attack of issue 14's table.
"""

from __future__ import annotations

import contextlib
import csv
import signal
import socket
import statistics
import struct
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.e2e import scenarios
from tests.e2e.pcap import Stream
from tests.e2e.scenarios import _in_dialog, _pause, _recv_response, _scenario, _send
from tests.e2e.sipp import SIPP, free_udp_port

from soak.server import PASSWORD, Room, Server

OWNER = "soak@confero.test"
SOURCES = ("127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5")
PROBE_SOURCE = "127.0.0.1"
FLOOD_SOURCE = "127.0.0.9"
ROOM_SIZE = 10
ACCESS_NUMBER = "5000"


# -- what a caller does ------------------------------------------------------------------


def caller_pcap(path: Path, seconds: float) -> Path:
    """A caller's voice: 1 s of tone, 9 s of silence, again and again (RTP never stops)."""
    stream = Stream().silence(0.5)
    while stream.duration < seconds:
        stream.tone(440.0, 1.0, amplitude=0.3).silence(9.0)
    return stream.write(path)


def _info(cseq: int, signal_value: str) -> str:
    body = f"Signal={signal_value}\nDuration=120"
    message = _send(_in_dialog("INFO", cseq, body=body, content_type="application/dtmf-relay"))
    return message + _recv_response(200, extra=' timeout="10000"')


def caller_scenario(pcap: Path, pin_length: int, hold: float) -> str:
    """Access number, 1, conference number #, PIN #, # (no name), talk, hang up. The
    number's and the PIN's digits are the CSV fields 0.. and pin_length.. . A 503 at
    the door (admission shedding load) is ACKed and logged as refused, not failed: the
    soak tells calls turned away from calls broken."""
    answer = ' timeout="15000"'
    invite = scenarios.invite_lines(scenarios.INVITE_VIA, offer=scenarios.sdp_offer())
    parts = [
        _send("\n".join(invite)),
        _recv_response(100, optional=True, extra=answer),
        _recv_response(180, optional=True, extra=answer),
        _recv_response(183, optional=True, extra=answer),
        '  <recv response="503" optional="true" next="refused">\n'
        '    <action><log message="refused [call_id]"/></action>\n  </recv>\n',
        _recv_response(200, extra=' rrs="true" rtd="true"' + answer),
        _send(_in_dialog("ACK", 1), retrans=False),
        f'  <nop>\n    <action>\n      <exec play_pcap_audio="{pcap}"/>\n    </action>\n  </nop>\n',
        _pause(1.5),
    ]
    cseq = 2
    keys = ["1", *(f"[field{i}]" for i in range(pin_length)), "#"]
    keys += [*(f"[field{pin_length + i}]" for i in range(pin_length)), "#", "#"]
    for key in keys:
        parts.append(_info(cseq, key))
        parts.append(_pause(0.15))
        cseq += 1
    parts.append(_pause(hold))
    parts.append(_send(_in_dialog("BYE", cseq)))
    parts.append(_recv_response(200, extra=' timeout="10000" next="end"'))
    parts.append('  <label id="refused"/>\n')
    parts.append(_send(scenarios.ack_non_2xx(), retrans=False))
    parts.append('  <label id="end"/>\n')
    return _scenario("confero soak caller", "".join(parts))


def rooms_csv(path: Path, rooms: list[Room]) -> Path:
    with path.open("w") as f:
        f.write("SEQUENTIAL\n")
        for room in rooms:
            f.write(";".join([*room.number, *room.pin]) + ";\n")
    return path


@dataclass
class SippCallers:
    """One sipp process: ``limit`` concurrent calls from ``source``, new ones at ``rate``
    a second until told to stop (SIGUSR1: no new calls, the running ones finish)."""

    workdir: Path
    source: str
    target: tuple[str, int]
    scenario: str
    rooms: Path
    limit: int
    rate: float
    process: subprocess.Popen[bytes] | None = None

    @property
    def stats_path(self) -> Path:
        return self.workdir / "stats.csv"

    @property
    def errors_path(self) -> Path:
        return self.workdir / "errors.log"

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "scenario.xml").write_text(self.scenario)
        period_ms = 10_000
        command = [
            "taskset", "-c", "1", SIPP,
            "-sf", str(self.workdir / "scenario.xml"),
            "-inf", str(self.rooms),
            "-i", self.source, "-p", str(free_udp_port(self.source, tcp=True)),
            "-mi", self.source, "-mp", str(free_udp_port(self.source, even=True, span=4)),
            "-cp", str(free_udp_port("0.0.0.0")),
            "-s", ACCESS_NUMBER,
            "-l", str(self.limit),
            "-r", str(max(1, round(self.rate * period_ms / 1000))), "-rp", str(period_ms),
            "-nostdin",
            "-trace_stat", "-stf", str(self.stats_path), "-fd", "5",
            "-trace_err", "-error_file", str(self.errors_path),
            "-trace_logs", "-log_file", str(self.workdir / "refused.log"),
            f"{self.target[0]}:{self.target[1]}",
        ]  # fmt: skip
        with (self.workdir / "stdout.log").open("wb") as out:
            self.process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)

    def soft_stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGUSR1)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            return -9

    def counts(self) -> dict[str, int]:
        """The last row of sipp's statistics: calls created, succeeded, failed."""
        try:
            rows = list(csv.DictReader(self.stats_path.open(), delimiter=";"))
        except FileNotFoundError:
            return {}
        if not rows:
            return {}
        last = rows[-1]
        names = {
            "created": "TotalCallCreated",
            "ok": "SuccessfulCall(C)",
            "failed": "FailedCall(C)",
        }
        counts = {k: int(last.get(v, "0") or 0) for k, v in names.items()}
        try:
            log = (self.workdir / "refused.log").read_text()
        except FileNotFoundError:
            log = ""
        counts["refused"] = log.count("refused ")
        return counts


# -- what the runner watches ----------------------------------------------------------------


@dataclass
class OptionsProbe:
    """An OPTIONS every ``every`` seconds from its own address: (sent at, round trip or
    None when no answer came within a second).

    The round trip ends when the kernel received the answer (``SO_TIMESTAMPNS``), not
    when this thread woke to read it: the runner shares CPU 1 with sipp's 200 threads
    and the GIL with the flood, and its own wait for a core is no part of the server's
    answer (a client on another host would not share it). Both times are the wall
    clock's; a preemption between reading it and sending can only lengthen a round
    trip, never shorten it. ``woke`` keeps the round trip as this thread saw it."""

    port: int
    every: float = 0.2
    samples: list[tuple[float, float | None]] = field(default_factory=list)
    woke: list[float] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)

    def _run(self) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((PROBE_SOURCE, 0))
            sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            sock.settimeout(1.0)
            me = sock.getsockname()[1]
            n = 0
            while not self._stop.is_set():
                n += 1
                text = (
                    f"OPTIONS sip:{ACCESS_NUMBER}@127.0.0.1 SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP {PROBE_SOURCE}:{me};branch=z9hG4bK-probe{n};rport\r\n"
                    f"From: <sip:probe@{PROBE_SOURCE}>;tag=probe\r\n"
                    f"To: <sip:{ACCESS_NUMBER}@127.0.0.1>\r\nCall-ID: probe-{n}\r\n"
                    "CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
                )
                sent, sent_ns = time.monotonic(), time.time_ns()
                sock.sendto(text.encode(), ("127.0.0.1", self.port))
                rtt: float | None = None
                with contextlib.suppress(TimeoutError):
                    while rtt is None:
                        data, ancillary, _, _ = sock.recvmsg(65535, 64)
                        if f"probe-{n}\r\n".encode() in data and data.startswith(b"SIP/2.0 200"):
                            self.woke.append(time.monotonic() - sent)
                            rtt = (_arrived_ns(ancillary) or time.time_ns()) - sent_ns
                            rtt /= 1e9
                self.samples.append((sent, rtt))
                self._stop.wait(max(0.0, self.every - (time.monotonic() - sent)))

    def window(self, start: float, end: float) -> list[float | None]:
        return [rtt for at, rtt in self.samples if start <= at <= end]


#: Linux's socket option (not in Python's ``socket`` module) and its control message.
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)


def _arrived_ns(ancillary: list[tuple[int, int, bytes]]) -> int | None:
    """The kernel's receive time of a datagram (a ``struct timespec``), in ns."""
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            seconds, nanoseconds = struct.unpack("qq", data[:16])
            return int(seconds * 1_000_000_000 + nanoseconds)
    return None


def flood(port: int, count: int = 500, seconds: float = 5.0) -> dict[str, int]:
    """``count`` INVITEs in ``seconds`` from one address, never ACKed; what came back."""
    statuses: dict[str, int] = {}
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((FLOOD_SOURCE, 0))
        sock.setblocking(False)
        me = sock.getsockname()[1]
        sink = free_udp_port(FLOOD_SOURCE, even=True)
        started = time.monotonic()
        for n in range(count):
            sdp = (
                f"v=0\r\no=x 1 1 IN IP4 {FLOOD_SOURCE}\r\ns=-\r\nc=IN IP4 {FLOOD_SOURCE}\r\n"
                f"t=0 0\r\nm=audio {sink} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
            )
            text = (
                f"INVITE sip:{ACCESS_NUMBER}@127.0.0.1 SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP {FLOOD_SOURCE}:{me};branch=z9hG4bK-{uuid.uuid4().hex}\r\n"
                f"From: <sip:{n}@{FLOOD_SOURCE}>;tag=f{n}\r\n"
                f"To: <sip:{ACCESS_NUMBER}@127.0.0.1>\r\n"
                f"Call-ID: flood-{n}-{uuid.uuid4().hex}\r\nCSeq: 1 INVITE\r\n"
                f"Contact: <sip:{n}@{FLOOD_SOURCE}:{me}>\r\nMax-Forwards: 70\r\n"
                f"Content-Type: application/sdp\r\nContent-Length: {len(sdp)}\r\n\r\n{sdp}"
            )
            sock.sendto(text.encode(), ("127.0.0.1", port))
            _drain(sock, statuses)
            time.sleep(max(0.0, started + (n + 1) * seconds / count - time.monotonic()))
        end = time.monotonic() + 3
        while time.monotonic() < end:
            _drain(sock, statuses)
            time.sleep(0.05)
    return statuses


def _drain(sock: socket.socket, statuses: dict[str, int]) -> None:
    while True:
        try:
            data = sock.recv(65535)
        except BlockingIOError:
            return
        if data.startswith(b"SIP/2.0 "):
            code = data[8:11].decode()
            statuses[code] = statuses.get(code, 0) + 1


def participants(web: httpx.Client, rooms: list[Room]) -> int:
    """Callers in the rooms now, by the owner's REST view; -1 when the server did not
    answer in time (itself a finding)."""
    total = 0
    for room in rooms:
        try:
            answer = web.get(f"/api/v1/rooms/{room.id}/conference")
        except httpx.TransportError:
            return -1
        if answer.status_code != 200:
            return -1
        total += len(answer.json().get("participants", []))
    return total


# -- the run ---------------------------------------------------------------------------------


@dataclass
class IvrResult:
    callers: int
    minutes: float
    calls: dict[str, int]
    sipp_exit: list[int]
    in_rooms: list[int]
    ticks: int
    late_5ms: int
    late_20ms: int
    options_ms: dict[str, float]
    options_flood_ms: dict[str, float]
    options_lost: int
    flood: dict[str, int]
    cpu_percent: float
    rss_mb: tuple[float, float]
    tracebacks: int

    #: with media workers: late > 20 ms per clock (the node's, then each worker's)
    late_20ms_by_clock: list[int] = field(default_factory=list)
    #: ticks whose own work took over 10 ms and over 20 ms (every clock): tells a late
    #: tick that waited behind a long one from one that waited for a core
    long_ticks: tuple[int, int] = (0, 0)
    #: the late > 20 ms ticks by likeliest cause (media/lateness.py): waited for a
    #: core, own work, neither (steal, interrupts)
    late_causes: tuple[int, int, int] = (0, 0, 0)
    #: the machine's time stolen by the hypervisor over the run (% of all cores)
    steal_percent: float = 0.0
    pinned: bool = True
    #: the OPTIONS round trips as the probe's thread woke to read them (whole run)
    options_woke_ms: dict[str, float] = field(default_factory=lambda: _summary([]))

    @property
    def passed(self) -> bool:
        return (
            self.calls.get("failed", 1) == 0
            and self.calls.get("ok", 0) > 0
            and all(code == 0 for code in self.sipp_exit)
            and self.late_20ms == 0
            and self.options_flood_ms["max"] < 100
            and self.options_lost == 0
            and self.tracebacks == 0
            and bool(self.in_rooms)
            and min(self.in_rooms) >= 0
        )

    def report(self) -> str:
        ok = "PASS" if self.passed else "FAIL"
        sample = f"{min(self.in_rooms, default=0)}-{max(self.in_rooms, default=0)}"
        late5 = 100 * self.late_5ms / max(1, self.ticks)
        lines = [
            f"## IVR soak: {ok}",
            "",
            "| figure | value |",
            "|---|---|",
            f"| concurrent callers, minutes | {self.callers}, {self.minutes:g} |",
            f"| calls created / succeeded / failed | {self.calls.get('created', 0)} / "
            f"{self.calls.get('ok', 0)} / {self.calls.get('failed', 0)} |",
            f"| of the succeeded: turned away at the door (503, load shed) | "
            f"{self.calls.get('refused', 0)} |",
            f"| sipp exit codes | {', '.join(map(str, self.sipp_exit))} |",
            f"| callers seen in rooms (per 30 s sample, steady state) | {sample} |",
            f"| media ticks / late > 5 ms / late > 20 ms | {self.ticks} / {self.late_5ms} "
            f"({late5:.2f}%) / {self.late_20ms} |",
            f"| OPTIONS round trip, whole run (p50 / p99 / max ms) | {_fmt(self.options_ms)} |",
            f"| OPTIONS round trip, flood + 30 s (p50 / p99 / max ms) | "
            f"{_fmt(self.options_flood_ms)} |",
            f"| OPTIONS unanswered within 1 s | {self.options_lost} |",
            "| OPTIONS round trip as the probe's thread woke to read it, whole run "
            f"(p50 / p99 / max ms) | {_fmt(self.options_woke_ms)} |",
            f"| flood answers (500 INVITEs in 5 s, never ACKed) | "
            f"{', '.join(f'{k}: {v}' for k, v in sorted(self.flood.items()))} |",
            f"| server CPU ({'one pinned core' if self.pinned else 'with its workers'})"
            f" | {self.cpu_percent:.0f}% |",
            *(
                [f"| late > 20 ms by clock (node, workers) | {self.late_20ms_by_clock} |"]
                if self.late_20ms_by_clock
                else []
            ),
            f"| ticks that took over 10 ms / over 20 ms | {self.long_ticks[0]} / "
            f"{self.long_ticks[1]} |",
            "| late > 20 ms by cause: waited for a core / own work / neither (steal, "
            f"interrupts) | {' / '.join(map(str, self.late_causes))} |",
            f"| the machine's time stolen by the hypervisor | {self.steal_percent:.2f}% |",
            f"| server memory start / end | {self.rss_mb[0]:.0f} MB / {self.rss_mb[1]:.0f} MB |",
            f"| tracebacks in the server log | {self.tracebacks} |",
        ]
        return "\n".join(lines)


def _fmt(stats: dict[str, float]) -> str:
    return f"{stats['p50']:.1f} / {stats['p99']:.1f} / {stats['max']:.1f}"


def _summary(rtts: list[float | None]) -> dict[str, float]:
    got = sorted(r * 1000 for r in rtts if r is not None)
    if not got:
        return {"p50": 0.0, "p99": 0.0, "max": 0.0}
    p99 = got[min(len(got) - 1, int(len(got) * 0.99))]
    return {"p50": statistics.median(got), "p99": p99, "max": got[-1]}


_DURATION = "confero_media_tick_duration_seconds"


def _tick_durations(exposition: str) -> tuple[int, int]:
    """Ticks so far that took over 10 ms and over 20 ms (the duration histogram)."""
    values: dict[str, float] = {}
    for line in exposition.splitlines():
        if line.startswith(_DURATION):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    total = values.get(f"{_DURATION}_count", 0.0)
    under_10 = values.get(f'{_DURATION}_bucket{{le="0.01"}}', total)
    under_20 = values.get(f'{_DURATION}_bucket{{le="0.02"}}', total)
    return int(total - under_10), int(total - under_20)


def _causes(before: dict[str, Any], after: dict[str, Any]) -> tuple[int, int, int]:
    keys = ("late_20ms_waited", "late_20ms_own_work", "late_20ms_other")
    waited, own, other = (int(after.get(k, 0)) - int(before.get(k, 0)) for k in keys)
    return waited, own, other


def _steal() -> tuple[int, int]:
    """The machine's (stolen, all) clock ticks so far, from /proc/stat's ``cpu`` line."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    return fields[7] if len(fields) > 7 else 0, sum(fields[:8])


def _steal_percent(start: tuple[int, int], end: tuple[int, int]) -> float:
    return 100 * (end[0] - start[0]) / max(1, end[1] - start[1])


def _by_clock(before: dict[str, Any], after: dict[str, Any]) -> list[int]:
    """Late > 20 ms per clock over the run (a replaced worker's count starts again)."""
    start = {c["clock"]: c["late_20ms"] for c in before.get("clocks", [])}
    return [int(c["late_20ms"]) - int(start.get(c["clock"], 0)) for c in after.get("clocks", [])]


def run(
    workdir: Path,
    *,
    callers: int = 200,
    minutes: float = 10.0,
    hold: float = 60.0,
    media_workers: int = 0,
    media_nice: int = 0,
    media_realtime: int = 0,
    server_nice: int = 0,
) -> IvrResult:
    """With ``media_workers`` the server mixes in that many processes (issue 15 P4) and
    is not pinned (its workers spread over the cores; sipp keeps CPU 1); its CPU and
    memory then count the workers too."""
    rooms_needed = max(1, callers // ROOM_SIZE)
    server = Server(
        workdir / "server",
        env={
            "CONFERO_ACCESS_NUMBER": ACCESS_NUMBER,
            # the operator sizes the total to the load it expects (default: 100 per CPU)
            "CONFERO_SIP_MAX_CALLS": str(callers + 100),
            "CONFERO_MEDIA_WORKERS": str(media_workers),
            "CONFERO_MEDIA_NICE": str(media_nice),
            "CONFERO_MEDIA_REALTIME": str(media_realtime),
            "CONFERO_METRICS": "true",  # the tick duration histogram (loopback only)
        },
        cpu=0 if media_workers == 0 else None,
        nice=server_nice,
    )
    server.create_owner(OWNER)
    rooms = [server.create_room(OWNER, f"Soak {i + 1}", 20) for i in range(rooms_needed)]
    pin_length = len(rooms[0].pin)
    assert all(len(r.number) == pin_length for r in rooms), "number and PIN of one length"
    pcap = caller_pcap(workdir / "caller.pcap", hold + 60)
    scenario = caller_scenario(pcap, pin_length, hold)
    server.start()
    web = httpx.Client(base_url=server.base, timeout=30)
    signed_in = web.post("/api/v1/session", json={"email": OWNER, "password": PASSWORD})
    signed_in.raise_for_status()
    probe = OptionsProbe(server.sip_port)
    per_source = callers // len(SOURCES)
    groups = [rooms[i :: len(SOURCES)] for i in range(len(SOURCES))]
    sipps = [
        SippCallers(
            workdir / f"sipp-{n}",
            source,
            ("127.0.0.1", server.sip_port),
            scenario,
            rooms_csv(workdir / f"rooms-{n}.csv", groups[n] or rooms),
            per_source,
            rate=2.0,
        )
        for n, source in enumerate(SOURCES)
    ]
    in_rooms: list[int] = []
    try:
        rss_start = server.rss_mb()
        probe.start()
        for sipp in sipps:
            sipp.start()
        ramp = per_source / 2.0 + 20  # every caller started and through the IVR
        time.sleep(ramp)
        health = server.health()["media"]
        assert isinstance(health, dict)
        durations = _tick_durations(server.metrics())
        cpu_start, wall_start = server.cpu_seconds(), time.monotonic()
        steal_start = _steal()
        end = wall_start + minutes * 60
        flood_at = wall_start + minutes * 30
        flooded: dict[str, int] = {}
        flood_window = (0.0, 0.0)
        while time.monotonic() < end:
            if not flooded and time.monotonic() >= flood_at:
                started = time.monotonic()
                flooded = flood(server.sip_port)
                flood_window = (started, time.monotonic() + 30)
            in_rooms.append(participants(web, rooms))
            time.sleep(max(0.0, min(30.0, end - time.monotonic())))
        after = server.health()["media"]
        assert isinstance(after, dict)
        durations_after = _tick_durations(server.metrics())
        cpu = 100 * (server.cpu_seconds() - cpu_start) / (time.monotonic() - wall_start)
        rss_end = server.rss_mb()
        for sipp in sipps:
            sipp.soft_stop()
        exits = [sipp.wait(hold + 120) for sipp in sipps]
    finally:
        probe.stop()
        for sipp in sipps:
            if sipp.process is not None and sipp.process.poll() is None:
                sipp.process.kill()
        web.close()
        server.stop()
    totals: dict[str, int] = {}
    for sipp in sipps:
        for key, value in sipp.counts().items():
            totals[key] = totals.get(key, 0) + value
    measured = probe.window(wall_start, end)
    return IvrResult(
        callers=callers,
        minutes=minutes,
        calls=totals,
        sipp_exit=exits,
        in_rooms=in_rooms,
        ticks=int(after["ticks"]) - int(health["ticks"]),
        late_5ms=int(after["late_5ms"]) - int(health["late_5ms"]),
        late_20ms=int(after["late_20ms"]) - int(health["late_20ms"]),
        late_20ms_by_clock=_by_clock(health, after),
        late_causes=_causes(health, after),
        steal_percent=_steal_percent(steal_start, _steal()),
        long_ticks=(
            durations_after[0] - durations[0],
            durations_after[1] - durations[1],
        ),
        pinned=media_workers == 0,
        options_ms=_summary(measured),
        options_flood_ms=_summary(probe.window(*flood_window)),
        options_lost=sum(1 for rtt in measured if rtt is None),
        options_woke_ms=_summary(list(probe.woke)),
        flood=flooded,
        cpu_percent=cpu,
        rss_mb=(rss_start, rss_end),
        tracebacks=server.tracebacks(),
    )
