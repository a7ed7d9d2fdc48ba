"""``python -m soak.attacks [sip|web]``: rerun issue 14's attacks (both sides by default)
in a fresh temporary directory and print the findings as a Markdown table; exit status 1
when any finding is above low."""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from soak.findings import Finding, table


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m soak.attacks")
    parser.add_argument("sides", nargs="*", choices=["sip", "web", []], default=[])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    sides: list[str] = args.sides or ["sip", "web"]
    workdir: Path = args.workdir or Path(tempfile.mkdtemp(prefix="confero-attacks-"))
    print(f"attacks: {' '.join(sides)} in {workdir}", flush=True)
    began = time.monotonic()
    found: list[Finding] = []
    for side in sides:
        if side == "sip":
            from soak.attacks import sip

            found += sip.run(workdir / "sip")
        else:
            from soak.attacks import web

            found += web.run(workdir / "web")
    print(table(found))
    print(f"({time.monotonic() - began:.0f} s)")
    return 0 if all(f.acceptable for f in found) else 1


if __name__ == "__main__":
    sys.exit(main())
