"""Half-sent requests (issue 14: 500 held open over 60 s, no header timeout): 500
connections from ten addresses send part of their headers and stall; each must be closed
by the server's header timeout while ``/api/health`` stays quick."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time

from soak.attacks.web_client import gather_limited
from soak.attacks.web_probes import HealthProbe
from soak.findings import Finding, Severity
from soak.server import Server

HEADER_TIMEOUT = 10.0  # the server's default (config.py), what the closes are held to


async def half_sent(server: Server, source: str, started: float) -> float | None:
    """Open, send part of the headers, stall: seconds until the server closed it."""
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.http_port, local_addr=(source, 0)
        )
    except OSError:
        return -1.0
    opened = time.monotonic()
    writer.write(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Stall: ")
    try:
        with contextlib.suppress(OSError):
            await writer.drain()
            await asyncio.wait_for(reader.read(), max(1.0, 45 - (opened - started)))
        return time.monotonic() - opened
    except TimeoutError:
        return None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def slowloris(server: Server, header_timeout: float = HEADER_TIMEOUT) -> Finding:
    count = 500
    started = time.monotonic()
    with HealthProbe(server.base) as probe:
        # Ten addresses of 50 each: the attacker is not limited to one address.
        held = await gather_limited(
            [half_sent(server, f"127.0.0.{10 + i % 10}", started) for i in range(count)], count
        )
    closed = [t for t in held if isinstance(t, float) and t >= 0]
    failed = sum(1 for t in held if isinstance(t, float) and t < 0)
    open_still = sum(1 for t in held if t is None)
    errors = sum(1 for t in held if isinstance(t, BaseException))
    severity: Severity = "none"
    if open_still or not closed or max(closed) > header_timeout + 10:
        severity = "medium"
    if probe.worst > 2 or probe.failures:
        severity = "medium"
    now = (
        f"{count} connections with half their headers: {len(closed)} closed by the server, "
        f"after {min(closed, default=0):.1f}-{max(closed, default=0):.1f} s (median "
        f"{statistics.median(closed) if closed else 0:.1f} s; header timeout "
        f"{header_timeout:.0f} s), {open_still} still open after 45 s, {failed} could not "
        f"connect, {errors} errors; {probe.summary()} meanwhile"
    )
    return Finding(
        "500 half-sent HTTP requests",
        "held open over 60 s (no header timeout)",
        now,
        severity,
    )
