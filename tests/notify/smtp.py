"""A real SMTP server on 127.0.0.1 that keeps what it receives (F-RS5 tests).

The mailer under test talks real SMTP to it (aiosmtpd), so the tests see the exact MIME
a mail client would get. ``stop()`` then ``start()`` reuses the same port: the mail
server is "down" in between. ``refuse(address)`` answers 550 for one recipient
(a permanent error); ``defer(address)`` answers 451 (a transient one).

Use the fixture: ``from tests.notify.smtp import SmtpSink, smtp_sink``.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self._sink = sink

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        answer = self._sink._answers.get(address.lower())
        if answer is not None:
            return answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = BytesParser(policy=default).parsebytes(envelope.content)
        assert isinstance(message, EmailMessage)
        with self._sink._lock:
            self._sink.recipients.append(list(envelope.rcpt_tos))
            self._sink.senders.append(envelope.mail_from)
            self._sink.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpSink:
    """``messages[i]`` arrived for the envelope recipients ``recipients[i]``."""

    host = "127.0.0.1"

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.senders: list[str] = []
        self._answers: dict[str, str] = {}
        self._credentials = credentials
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    def _authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and self._credentials == (
            auth_data.login.decode(),
            auth_data.password.decode(),
        )
        return AuthResult(success=ok, handled=False)

    def start(self) -> None:
        assert self._controller is None, "already running"
        kwargs: dict[str, Any] = {}
        if self._credentials is not None:
            kwargs = {
                "authenticator": self._authenticate,
                "auth_required": True,
                "auth_require_tls": False,
            }
        deadline = time.monotonic() + 5
        while True:  # the port of a just-stopped sink may take a moment to free up
            controller = Controller(
                _Handler(self), hostname=self.host, port=self.port, ready_timeout=1, **kwargs
            )
            try:
                controller.start()
                break
            except Exception:
                controller.stop(no_assert=True)
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def refuse(self, address: str) -> None:
        """Answer 550 (permanent) to ``RCPT TO:<address>``."""
        self._answers[address.lower()] = "550 5.1.1 Mailbox unavailable"

    def defer(self, address: str) -> None:
        """Answer 451 (transient) to ``RCPT TO:<address>``."""
        self._answers[address.lower()] = "451 4.3.0 Try again later"

    def accept(self, address: str) -> None:
        """Undo ``refuse``/``defer``."""
        self._answers.pop(address.lower(), None)

    def to(self, address: str) -> list[EmailMessage]:
        """The messages whose envelope went to ``address``."""
        with self._lock:
            pairs = list(zip(self.messages, self.recipients, strict=True))
        return [m for m, rcpts in pairs if address.lower() in (r.lower() for r in rcpts)]

    async def wait_for(self, count: int, timeout: float = 10.0) -> list[EmailMessage]:  # noqa: ASYNC109
        """At least ``count`` messages, waiting up to ``timeout`` seconds for them."""
        deadline = time.monotonic() + timeout
        while len(self.messages) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} mail(s) within {timeout}s, got {len(self.messages)}"
                )
            await asyncio.sleep(0.02)
        return list(self.messages)


@pytest.fixture
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()
