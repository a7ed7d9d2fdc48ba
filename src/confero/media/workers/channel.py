"""A worker's channel: messages (and sockets) between the node and one media worker.

A ``SOCK_SEQPACKET`` Unix socket pair keeps message boundaries (no framing of our own)
and carries file descriptors (``SCM_RIGHTS``): the RTP sockets the node hands over. Both
ends are trusted (the same program), so messages are pickled. Writes never block the
tick: what the kernel does not take at once waits in a queue, flushed when the socket is
writable again. Large payloads (a long prompt) are cut by the sender (``MAX_MESSAGE``).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import logging
import os
import pickle
import socket
from collections import deque
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

#: The largest payload a sender puts in one message (prompts and a tick's frames are
#: cut into pieces of this size): a datagram of a Unix socket must fit its send buffer,
#: which the kernel caps (``net.core.wmem_max``, about 208 KiB by default).
MAX_MESSAGE = 64 * 1024
#: Socket buffers: a tick's batch for a few hundred legs fits many times over.
_BUFFER = 4 * 1024 * 1024
_MAX_FDS = 4


def pair() -> tuple[socket.socket, socket.socket]:
    """Both ends of a new channel (the node's, the worker's)."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for end in (a, b):
        for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
            with contextlib.suppress(OSError):
                end.setsockopt(socket.SOL_SOCKET, option, _BUFFER)
    return a, b


class Channel:
    """One end: ``send`` a message (with sockets), ``on_message`` hears the other end's;
    ``on_closed`` when the other end is gone."""

    def __init__(
        self,
        sock: socket.socket,
        on_message: Callable[[Any, list[int]], None],
        on_closed: Callable[[], None] | None = None,
    ) -> None:
        sock.setblocking(False)
        self._sock = sock
        self._on_message = on_message
        self._on_closed = on_closed
        self._queue: deque[tuple[bytes, list[int]]] = deque()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(sock.fileno(), self._readable)
        self.closed = False

    def send(self, message: Any, fds: list[int] | None = None) -> None:
        """Send ``message``; ``fds`` are duplicated into the other process (the caller
        keeps and closes its own)."""
        if self.closed:
            return
        data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
        assert len(data) <= 2 * MAX_MESSAGE, "cut large payloads (MAX_MESSAGE)"
        held = [_dup(fd) for fd in fds or ()]
        if self._queue or not self._write(data, held):
            self._queue.append((data, held))
            if len(self._queue) == 1:
                self._loop.add_writer(self._sock.fileno(), self._flush)

    def _write(self, data: bytes, fds: list[int]) -> bool:
        try:
            if fds:
                ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
                self._sock.sendmsg([data], ancillary)
            else:
                self._sock.send(data)
        except BlockingIOError:
            return False
        except OSError:
            self._gone()
            return True
        for fd in fds:
            _close(fd)
        return True

    def _flush(self) -> None:
        while self._queue:
            data, fds = self._queue[0]
            if not self._write(data, fds):
                return
            self._queue.popleft()
        self._loop.remove_writer(self._sock.fileno())

    def _readable(self) -> None:
        size = socket.CMSG_SPACE(_MAX_FDS * array.array("i").itemsize)
        for _ in range(64):  # a bounded batch per wake-up: the tick comes first
            try:
                data, ancillary, _, _ = self._sock.recvmsg(2 * MAX_MESSAGE, size)
            except BlockingIOError:
                return
            except OSError:
                self._gone()
                return
            if not data:
                self._gone()
                return
            fds: list[int] = []
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    got = array.array("i")
                    got.frombytes(payload[: len(payload) - len(payload) % got.itemsize])
                    fds += list(got)
            try:
                self._on_message(pickle.loads(data), fds)
            except Exception:
                log.exception("media channel: a message failed")
                for fd in fds:
                    _close(fd)

    def _gone(self) -> None:
        if self.closed:
            return
        self.close()
        if self._on_closed is not None:
            self._on_closed()

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self._loop.remove_reader(self._sock.fileno())
            self._loop.remove_writer(self._sock.fileno())
        for _, fds in self._queue:
            for fd in fds:
                _close(fd)
        self._queue.clear()
        self._sock.close()


def _dup(fd: int) -> int:
    return os.dup(fd)


def _close(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)


def batches(items: list[Any], size: Callable[[Any], int]) -> list[list[Any]]:
    """``items`` cut into lists of at most ``MAX_MESSAGE`` bytes of payload each."""
    out: list[list[Any]] = [[]]
    total = 0
    for item in items:
        n = size(item)
        if out[-1] and total + n > MAX_MESSAGE:
            out.append([])
            total = 0
        out[-1].append(item)
        total += n
    return out if out[0] else []
