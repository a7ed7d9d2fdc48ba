"""What every real peer process of the e2e suite (sipp, baresip, Kamailio) needs: stop
it politely, then firmly, and read its log while it may not have written one yet."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from pathlib import Path


async def stop_process(process: asyncio.subprocess.Process | None, grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds; nothing if it already ended."""
    if process is None or process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(process.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


def read_log(path: Path) -> str:
    """The file's text so far, or "" before the process wrote it."""
    try:
        return path.read_text("utf-8", "replace")
    except FileNotFoundError:
        return ""
