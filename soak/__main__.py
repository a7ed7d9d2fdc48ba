"""``make soak``: the soak and fault suite of issue 14, apart from ``make test`` (minutes,
not seconds, and it wants the machine to itself). Its figures go into
docs/RELIABILITY.md with the command that produced them.

Usage: python -m soak [ivr] [crash] [attacks] [--callers N] [--minutes M] [--hold S]
       [--media-workers N] [--media-nice N] [--media-realtime N]
       [--server-nice N]
(default: all three: the IVR soak with 200 callers for 10 minutes, kill -9 during
booking and chat, the attacks of issue 14's table). Exit status 1 when any part fails.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

PARTS = ("ivr", "crash", "attacks")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m soak")
    parser.add_argument("parts", nargs="*", choices=[*PARTS, []], default=[])
    parser.add_argument("--callers", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--hold", type=float, default=60.0, help="seconds a caller stays")
    parser.add_argument("--rounds", type=int, default=5, help="kill -9 rounds")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--media-workers", type=int, default=0, help="CONFERO_MEDIA_WORKERS of the ivr part"
    )
    parser.add_argument("--media-nice", type=int, default=0, help="CONFERO_MEDIA_NICE of it")
    parser.add_argument(
        "--media-realtime", type=int, default=0, help="CONFERO_MEDIA_REALTIME of it"
    )
    parser.add_argument(
        "--server-nice", type=int, default=0, help="nice steps of its server (vs sipp)"
    )
    args = parser.parse_args()
    parts = args.parts or list(PARTS)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="confero-soak-"))
    print(f"soak: {' '.join(parts)} in {workdir}", flush=True)
    ok = True
    for part in parts:
        started = time.monotonic()
        print(f"== {part}", flush=True)
        if part == "ivr":
            from soak import ivr

            result = ivr.run(
                workdir / "ivr",
                callers=args.callers,
                minutes=args.minutes,
                hold=args.hold,
                media_workers=args.media_workers,
                media_nice=args.media_nice,
                media_realtime=args.media_realtime,
                server_nice=args.server_nice,
            )
            print(result.report())
            ok &= result.passed
        elif part == "crash":
            from soak import crash

            outcome = crash.run(workdir / "crash", rounds=args.rounds)
            print(outcome.report())
            ok &= outcome.passed
        else:
            from soak import attacks

            findings = attacks.run(workdir / "attacks")
            print(attacks.table(findings))
            ok &= all(f.acceptable for f in findings)
        print(f"== {part}: {time.monotonic() - started:.0f} s", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
