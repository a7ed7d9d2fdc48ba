"""The in-process bus of the one-process profile (F-SC1).

``publish`` awaits every handler in order, so once the actor's command returns, every
reaction to its events (activity log, stored lock state, WebSocket queues) has run.
A handler that fails is logged and does not stop the others or the publisher.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from confero.app.ports import EventHandler
from confero.domain.events import Event

log = logging.getLogger(__name__)


class LocalBus:
    def __init__(self) -> None:
        self._handlers: list[EventHandler] = []

    async def publish(self, event: Event) -> None:
        for handler in list(self._handlers):
            try:
                await handler(event)
            except Exception:
                log.exception("event handler failed for %s", event.name)

    def subscribe(self, handler: EventHandler) -> Callable[[], None]:
        self._handlers.append(handler)

        def unsubscribe() -> None:
            if handler in self._handlers:
                self._handlers.remove(handler)

        return unsubscribe
