"""Video forwarding end to end, per core (issue 15 P3).

``bench.sfu_forward`` measures the forwarding path in-process; this one measures the
whole server with real WebRTC peers, as ``bench.browser_legs`` does for audio: a real
``confero serve`` pinned to one core, rooms of ``room-size`` made over the REST API, and
a load process on the other core (``bench.browser_load --cameras K``) whose aiortc peers
join each room through the WebSocket signaling. The first K peers of each room turn a
camera on (pre-encoded VP8, 640x360, 30 fps, about 500 kbit/s, a key frame when the
server asks for one); every other peer of the room watches each camera over its own
receive-only connection, as the room page does: ``K x (room-size - 1)`` forwarded
down-tracks a room.

For each count of rooms, two windows of ``seconds`` on the same server and peers: first
audio only (every peer's microphone, one talker a room, the mix), then with the cameras
on. The server's CPU with video less its CPU without, divided by the down-tracks, is the
cost of one forwarded down-track end to end (receiving each publisher's stream once,
SRTP, RTP, aiortc's sender and RTCP per subscriber, ICE and UDP), and one core divided
by it is "down-tracks per core". Also reported: the ticks of the audio mix late by more
than 5 ms with video on (forwarding must not starve the mix), whether every down-track
receives, and the time from the server's ``subscribe`` message to the first key frame
at the subscriber (the server asks the publisher with a PLI; target under 1 s), for the
subscriptions made when the cameras went on and for one late joiner.

The load client counts what its subscribers receive without decrypting it after the
first key frame; its CPU is printed, and a row where it neared its core is flagged (the
server then looks better than it is).

Usage: python -m bench.video_legs [--rooms 1,2,3] [--room-size 6] [--cameras 6]
       [--seconds 8] [--server-core 0] [--load-core 1] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from soak.server import Server

from bench.browser_legs import Load, _media, _waited, make_rooms, run_steps, start_server

FPS = 30


@dataclass
class Window:
    server_cpu: float  #: one core = 1.0
    client_cpu: float
    late_share: float
    marks: tuple[dict[str, Any], dict[str, Any]]
    server_waited: float


def _window(server: Server, load: Load, seconds: float) -> Window:
    before = _media(server)
    cpu0, client0, waited0 = server.cpu_seconds(), load.cpu_seconds(), _waited(server.process)
    wall0 = time.monotonic()
    mark0 = load.mark()
    time.sleep(seconds)
    mark1 = load.mark()
    wall = time.monotonic() - wall0
    cpu1, client1, waited1 = server.cpu_seconds(), load.cpu_seconds(), _waited(server.process)
    after = _media(server)
    ticks = after["ticks"] - before["ticks"]
    return Window(
        server_cpu=(cpu1 - cpu0) / wall,
        client_cpu=(client1 - client0) / wall,
        late_share=(after["late_5ms"] - before["late_5ms"]) / max(ticks, 1),
        marks=(mark0, mark1),
        server_waited=(waited1 - waited0) / wall,
    )


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Row:
    rooms: int
    peers: int
    down_tracks: int  #: expected: cameras x (room size - 1) x rooms
    watched: int  #: receive-only connections connected
    receiving: int  #: of them, those whose packet count grew over the video window
    audio: Window
    video: Window
    first_keyframe_ms: list[float]
    no_keyframe: int  #: subscriptions without a key frame when the window began
    late_keyframe_ms: list[float | None]
    video_fps: float  #: frames the cameras sent per second, all of them
    tracebacks: int

    @property
    def per_down_track(self) -> float:
        """The server's CPU (one core = 1.0) one forwarded down-track adds."""
        return max(self.video.server_cpu - self.audio.server_cpu, 0.0) / max(self.receiving, 1)

    @property
    def client_keeps_up(self) -> bool:
        return self.video.client_cpu < 0.85

    def markdown(self) -> str:
        per = self.per_down_track
        per_frame_us = per / FPS * 1e6
        keys = self.first_keyframe_ms
        key = (
            f"{_quantile(keys, 0.5):.0f} / {_quantile(keys, 0.95):.0f} / {max(keys):.0f}"
            if keys
            else "none"
        )
        missing = f" ({self.no_keyframe} without)" if self.no_keyframe else ""
        late = [v for v in self.late_keyframe_ms if v is not None]
        late_text = f"{max(late):.0f}" if late else "none"
        if len(late) < len(self.late_keyframe_ms):
            late_text += f" ({len(self.late_keyframe_ms) - len(late)} without)"
        return (
            f"| {self.rooms} x {self.peers // self.rooms} | {self.receiving}/{self.down_tracks}"
            f" | {self.audio.server_cpu:.0%} | {self.video.server_cpu:.0%}"
            f" | {per_frame_us:.0f} us | {1 / per if per else float('inf'):,.0f}"
            f" | {self.audio.late_share:.2%} / {self.video.late_share:.2%}"
            f" | {key}{missing} | {late_text} | {self.video.client_cpu:.0%} |"
        )


HEADER = (
    "| rooms x peers | down-tracks receiving | server CPU, audio only | server CPU, with video"
    " | CPU per down-track per frame | down-tracks per core | ticks late > 5 ms (audio only /"
    " video) | subscribe to first key frame p50 / p95 / max (ms) | late joiner's max (ms)"
    " | client CPU |\n| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
)


def run_count(
    workdir: Path,
    rooms: int,
    *,
    room_size: int,
    cameras: int,
    seconds: float,
    server_core: int | None,
    load_core: int | None,
    running: list[Server | Load],
) -> Row:
    peers = rooms * room_size
    down_tracks = rooms * cameras * (room_size - 1)
    server = start_server(workdir, peers + 1, room_size, server_core, running)
    urls = make_rooms(server, rooms, room_size + 1)  # a seat for the late joiner
    rooms_file = workdir / "rooms.json"
    rooms_file.write_text(json.dumps(urls))
    load = Load(
        rooms_file,
        peers,
        0,
        room_size,
        load_core,
        workdir / "load.log",
        extra=["--cameras", str(cameras)],
    )
    running.append(load)
    load.start()
    ready = load.expect("ready", 120 + 2.0 * peers)
    print(f"  {rooms} rooms: {ready['connected']}/{peers} peers connected", flush=True)
    time.sleep(3)  # the mix settles (jitter buffers, DTX)
    audio = _window(server, load, seconds)

    load.tell("cameras")
    on = load.expect("cameras", 60)
    deadline = time.monotonic() + 30 + 0.1 * down_tracks
    while True:
        time.sleep(1)
        mark = load.mark()
        keyed = sum(v is not None for v in mark["first_keyframe_ms"])
        if (
            mark["watched_connected"] >= down_tracks and keyed >= down_tracks
        ) or time.monotonic() > deadline:
            break
    print(
        f"  cameras on: {on['publishing']} publishing, {mark['watched_connected']}/{down_tracks}"
        f" down-tracks connected, {keyed} with a key frame",
        flush=True,
    )
    first_keys = [float(v) for v in mark["first_keyframe_ms"] if v is not None]
    no_key = down_tracks - len(first_keys)
    time.sleep(2)
    video = _window(server, load, seconds)
    m0, m1 = video.marks
    receiving = sum(m1["watched"].get(k, 0) > v for k, v in m0["watched"].items())
    wall = m1["at"] - m0["at"]
    video_fps = (m1["video_sent"] - m0["video_sent"]) / max(wall, 1e-9)

    load.tell("late")
    load.expect("late", 60)
    late_keys: list[float | None] = []
    for _ in range(10):
        time.sleep(1)
        late_keys = load.mark()["late_first_keyframe_ms"]
        if len(late_keys) >= cameras and all(v is not None for v in late_keys):
            break
    row = Row(
        rooms=rooms,
        peers=peers,
        down_tracks=down_tracks,
        watched=int(m1["watched_connected"]),
        receiving=receiving,
        audio=audio,
        video=video,
        first_keyframe_ms=first_keys,
        no_keyframe=no_key,
        late_keyframe_ms=late_keys or [None] * cameras,
        video_fps=video_fps,
        tracebacks=server.tracebacks(),
    )
    load.stop()
    running.remove(load)
    server.stop()
    running.remove(server)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.video_legs")
    parser.add_argument("--rooms", default="1,2,3", help="rooms per step")
    parser.add_argument("--room-size", type=int, default=6)
    parser.add_argument("--cameras", type=int, default=6, help="cameras per room")
    parser.add_argument("--seconds", type=float, default=8.0, help="each measured window")
    parser.add_argument("--server-core", type=int, default=0)
    parser.add_argument("--load-core", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    counts = [int(x) for x in args.rooms.split(",") if x]
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="confero-video-legs-"))
    print(
        f"video end to end: rooms of {args.room_size} with {args.cameras} cameras (VP8"
        f" 640x360, {FPS} fps), {args.seconds:g} s per window, server on CPU"
        f" {args.server_core}, load on CPU {args.load_core}, in {workdir}",
        flush=True,
    )
    rows = run_steps(
        lambda rooms, running: run_count(
            workdir / f"rooms-{rooms}",
            rooms,
            room_size=args.room_size,
            cameras=args.cameras,
            seconds=args.seconds,
            server_core=args.server_core,
            load_core=args.load_core,
            running=running,
        ),
        counts,
    )
    if not rows:
        return 1
    print()
    print(HEADER)
    for row in rows:
        print(row.markdown())
    for row in rows:
        print(
            f"{row.rooms} rooms: cameras sent {row.video_fps:.0f} frames/s in all; server"
            f" waited for its core {row.video.server_waited:.0%} of the video window"
        )
        if row.tracebacks:
            print(f"tracebacks in the server log at {row.rooms} rooms: {row.tracebacks}")
        if not row.client_keeps_up:
            print(f"the load client neared its core at {row.rooms} rooms: figures are optimistic")
    good = [r for r in rows if r.receiving == r.down_tracks and r.client_keeps_up]
    if good:
        per = statistics.median(r.per_down_track for r in good)
        print(
            f"forwarded down-tracks per core, end to end (median of {len(good)} steps):"
            f" {1 / per if per else float('inf'):,.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
