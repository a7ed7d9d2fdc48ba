"""A real HTTP SMS gateway on 127.0.0.1 that keeps what it receives (F-RS6 tests).

It takes ``POST /sms`` with JSON ``{"to", "from", "text"}`` and a bearer token, like the
gateway ``confero.notify.sms.HttpSmsGateway`` talks to. ``failing = True`` makes it
answer 503 (the gateway is down: a transient error); ``status = 4xx`` forces a refusal
(a permanent error); ``token = "..."`` makes it answer 401 to any other bearer token
(by default every token is accepted, and recorded).

Use the fixture: ``from tests.notify.sms_gateway import SmsSink, sms_sink``.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_POST(self) -> None:
        sink = self.server.sink
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        sink.attempts += 1
        authorization = self.headers.get("Authorization", "")
        try:
            data = json.loads(body)
            assert isinstance(data, dict)
            record = {k: data[k] for k in ("to", "from", "text")}
        except (ValueError, KeyError, AssertionError):
            return self._answer(400, {"error": "bad request"})
        if self.path != "/sms":
            return self._answer(404, {"error": "not found"})
        if sink.failing:
            return self._answer(503, {"error": "unavailable"})
        if sink.status is not None:
            return self._answer(sink.status, {"error": "refused"})
        if sink.token is not None and authorization != f"Bearer {sink.token}":
            return self._answer(401, {"error": "unauthorized"})
        record["authorization"] = authorization
        with sink._lock:
            sink.received.append(record)
            number = len(sink.received)
        return self._answer(202, {"id": f"sms-{number}"})

    def _answer(self, status: int, body: dict[str, str]) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    sink: SmsSink


class SmsSink:
    """``received`` holds the accepted messages: {to, from, text, authorization}."""

    host = "127.0.0.1"

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.failing = False
        self.status: int | None = None
        self.attempts = 0
        self.received: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/sms"

    def start(self) -> None:
        assert self._server is None, "already running"
        server = _Server((self.host, self.port), _Handler)
        server.sink = self
        self.port = server.server_address[1]
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[dict[str, str]]:  # noqa: ASYNC109
        """At least ``count`` accepted messages, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} SMS within {timeout}s, got {len(self.received)}"
                )
            await asyncio.sleep(0.02)
        return list(self.received)


@pytest.fixture
def sms_sink() -> Iterator[SmsSink]:
    sink = SmsSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
