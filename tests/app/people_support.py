"""A people page as the people service sees it (app/people.py), shared by the one-node
and the across-nodes tests: what it was sent, why it was closed."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from confero.app.people_pages import Page


@dataclass
class Inbox:
    messages: list[dict[str, Any]] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    page: Page | None = None

    def of(self, type_: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["type"] == type_]

    def last(self, type_: str) -> dict[str, Any]:
        found = self.of(type_)
        assert found, f"no {type_} in {self.messages}"
        return found[-1]

    def presence(self, account_id: str) -> str | None:
        found = [m["presence"] for m in self.of("presence") if m["account_id"] == account_id]
        return found[-1] if found else None

    def states(self) -> list[str]:
        """The states of ``call_state`` pushes, in order."""
        return [m["call"]["state"] for m in self.of("call_state")]


async def eventually(check: Callable[[], bool], within: float = 3.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():
        assert loop.time() < deadline, "not within the time"
        await asyncio.sleep(0.02)
