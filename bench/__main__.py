"""``make bench``: every benchmark in one run, so ratios compare like with like."""

from __future__ import annotations

import sys

import uvloop

from bench import media_legs

if __name__ == "__main__":
    counts = [
        int(x) for x in (sys.argv[1] if len(sys.argv) > 1 else "10,50,100,200,300").split(",")
    ]
    uvloop.run(media_legs.main(counts, 10.0))
