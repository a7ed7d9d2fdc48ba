"""The framework's own speed, the yardstick of ``bench.web_api`` (issue 17): a trivial
FastAPI route served by uvicorn with the loop and HTTP parser ``confero serve`` uses.
``serve`` starts it, or another baseline app of the benches (``bench.ws_baseline``,
``bench.join_baseline``), the same way.

Run: uvicorn bench.web_baseline:app --loop uvloop --http httptools
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from fastapi import FastAPI
from soak.server import free_port, wait_http

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}


def serve(
    app: str, core: int | None, log: Path, probe: str = "/"
) -> tuple[subprocess.Popen[bytes], int]:
    """``app`` (``module:attribute``) under uvicorn as ``confero serve`` runs, pinned to
    ``core``; returns once ``probe`` answers. The caller ends the process."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app, "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--log-level", "warning",
    ]  # fmt: skip
    if core is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(core), *command]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}{probe}")
    except BaseException:
        process.kill()
        raise
    return process, port
