"""``make bench``: every benchmark in one run, so ratios compare like with like.

Usage: python -m bench [NAME ...]   NAME: phone, opus, sfu, muteall, janus, node, browser, video,
web, fanout, join, cluster
(default: all, in that order, about eleven minutes). ``janus`` is the side-by-side run
against Janus AudioBridge on the same core (``bench.side_by_side``;
``scripts/system-deps.sh bench`` installs Debian's janus; without it the run prints
"janus: skipped" and Confero's column alone). ``node`` the phone legs
of one pinned core against a node with two media workers (``bench.node_legs``, issue
15 P4). ``browser`` is a real ``confero serve``
with aiortc peers joining through the WebSocket signaling (``bench.browser_legs``);
``video`` the same with cameras on, each forwarded to every other peer of its room
(``bench.video_legs``). ``web`` is the REST API under ``wrk`` against a trivial FastAPI
route on the same core, on SQLite and PostgreSQL (``bench.web_api``). ``fanout`` times a
chat message and a mute reaching 1,000 joined sockets of one room against a trivial
FastAPI broadcast (``bench.ws_fanout``); ``join`` the click on Join in Chromium to the
first audio packet and a phone's 200 OK to its first prompt packet, each against a bare
floor (``bench.join_time``; without Chromium its browser part prints "skipped").
``cluster`` the same phone (sipp) and browser (aiortc) legs on one plain node and on
three nodes on PostgreSQL and Redis behind Kamailio, and the ratio: the cluster's
overhead (``bench.cluster_legs``, issue 16; needs kamailio, PostgreSQL and Redis).
Each runs in a fresh process, so one's memory and garbage do not show up in the next
one's figures; each module also runs alone with its own arguments, e.g.
``python -m bench.opus_legs 10,100,400 5``.
"""

from __future__ import annotations

import subprocess
import sys
import time

BENCHES: dict[str, list[str]] = {
    "phone": ["bench.media_legs", "10,50,100,200,300", "10"],
    "opus": ["bench.opus_legs", "10,50,100,200,300,400,600", "4"],
    "sfu": ["bench.sfu_forward", "1,10"],
    "muteall": ["bench.mute_all", "50", "5"],
    "janus": ["bench.side_by_side", "--counts", "100,150,200,300"],
    "node": ["bench.node_legs", "--counts", "100,200,300,400,500"],
    "browser": ["bench.browser_legs", "--counts", "10,20,40"],
    "video": ["bench.video_legs", "--rooms", "1,2,3"],
    "web": ["bench.web_api"],
    "fanout": ["bench.ws_fanout", "--sockets", "1000", "--changes", "20"],
    "join": ["bench.join_time", "--trials", "10", "--calls", "20"],
    "cluster": ["bench.cluster_legs", "--phones", "20", "--browsers", "10"],
}

if __name__ == "__main__":
    names = sys.argv[1:] or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        sys.exit(f"unknown benchmark {', '.join(unknown)}; choose from {', '.join(BENCHES)}")
    for name in names:
        command = [sys.executable, "-m", *BENCHES[name]]
        print(f"== {name}: {' '.join(['python', *command[1:]])}", flush=True)
        start = time.monotonic()
        subprocess.run(command, check=True)
        print(f"== {name}: {time.monotonic() - start:.0f} s", flush=True)
