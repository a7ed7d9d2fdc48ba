"""Callers' recorded names, shared by the nodes of a cluster (issue 16, F-PH4, F-SC2).

A caller says their name in the voice menu of the node the front handed the call to;
announcements ("<name> joined", ``*3``'s list) are made by the room's owner. When those
are two nodes, the owner had nothing to play and said "a participant". The recording
(5 s of 16-bit audio at the mixer's 48 kHz: up to about 480 kB) is far too much for a
signed SIP header or a UDP INVITE, so the first node puts it here, under the call's own
resume token (phone/admit_token.py: only nodes holding the cluster secret ever see it),
and the owner reads it when it admits the relayed call; a call that joins again after
its owner died finds it too. The Redis store is ``confero.bus.redis_names``; memory is
for one process (a call is never passed on there) and tests.
"""

from __future__ import annotations

from typing import Protocol

#: 6 s of int16 samples at 48 kHz: a name (NAME_SECONDS of phone/ivr.py, 5 s) and slack.
MAX_BYTES = 6 * 48_000 * 2


class CallerNames(Protocol):
    async def put(self, key: str, recording: bytes) -> None:
        """Keep ``recording`` under the call's resume token ``key`` (bounded in time)."""
        ...

    async def get(self, key: str) -> bytes | None: ...


class MemoryCallerNames:
    def __init__(self) -> None:
        self._names: dict[str, bytes] = {}

    async def put(self, key: str, recording: bytes) -> None:
        assert len(recording) <= MAX_BYTES, len(recording)
        self._names[key] = recording

    async def get(self, key: str) -> bytes | None:
        return self._names.get(key)
