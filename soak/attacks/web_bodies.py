"""Oversized request bodies without a token (issue 14: 4 x 33 MB read and parsed before
the 401): four with Content-Length and four chunked, sent a MB at a time over raw TCP
while health and memory are measured; the server must answer 413 before reading them."""

from __future__ import annotations

import asyncio
import contextlib
import time

from soak.attacks.web_probes import HealthProbe, RssSampler
from soak.findings import Finding, Severity
from soak.server import Server

MB = 1024 * 1024


async def big_post(server: Server, size: int, chunked: bool) -> tuple[str, float, int]:
    """POST ``size`` bytes of JSON to a route that needs a token, without one: the status
    line, seconds until it came, and how many body bytes the server let us send."""
    reader, writer = await asyncio.open_connection("127.0.0.1", server.http_port)
    head = "POST /api/v1/rooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    head += "Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {size}\r\n"
    started = time.monotonic()
    writer.write((head + "\r\n").encode())
    answer: asyncio.Task[bytes] = asyncio.create_task(reader.readline())
    sent = 0
    piece = b'{"name": "' + b"a" * (MB - 12) + b'",'
    # One MB at a time, and a pause for the answer after each: a server that refuses
    # closes the connection, and bytes still coming would turn its answer into a reset.
    with contextlib.suppress(OSError):
        while sent < size and not answer.done():
            chunk = piece[: size - sent]
            writer.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n" if chunked else chunk)
            await writer.drain()
            sent += len(chunk)
            await asyncio.wait({answer}, timeout=0.5)
        if chunked and not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    try:
        line = await asyncio.wait_for(answer, 60)
        status = line.decode(errors="replace").strip() or "connection closed"
    except (TimeoutError, OSError) as exc:
        status = type(exc).__name__
    elapsed = time.monotonic() - started
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return status, elapsed, sent


async def oversized_bodies(server: Server) -> Finding:
    size = 33 * MB
    before_rss = server.rss_mb()
    with HealthProbe(server.base, interval=0.1) as probe, RssSampler(server) as rss:
        sized = await asyncio.gather(*(big_post(server, size, False) for _ in range(4)))
        chunked = await asyncio.gather(*(big_post(server, size, True) for _ in range(4)))
        await asyncio.sleep(1.0)
    after_rss = server.rss_mb()
    codes = [s.split()[1] if s.startswith("HTTP/") else s for s, _, _ in sized + chunked]
    sent_mb = [sent / MB for _, _, sent in sized + chunked]
    slowest = max(t for _, t, _ in sized + chunked)
    ok = all(c == "413" for c in codes)
    grew = rss.peak - before_rss
    severity: Severity = "none" if ok and grew < 64 and probe.worst < 2 else "medium"
    now = (
        f"4 concurrent 33 MB bodies with Content-Length: {', '.join(codes[:4])}; 4 chunked: "
        f"{', '.join(codes[4:])} (each within {slowest:.2f} s; at most "
        f"{max(sent_mb):.1f} MB sent before the answer, the rest refused); RSS "
        f"{before_rss:.0f} MB -> peak {rss.peak:.0f} -> {after_rss:.0f} MB; {probe.summary()}"
    )
    return Finding(
        "4 x 33 MB JSON bodies without a token",
        "read and parsed before the 401; memory 261 MB -> 1,014 MB, everything stalled 1.8 s",
        now,
        severity,
    )
