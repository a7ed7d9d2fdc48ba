"""The people pages a node holds, and how a push reaches every page of an account
(F-WB3; issue 16): the half of the people service that is about sockets, not rules.

A page lives on the node its socket reached; the people service (app/people.py) decides
what to tell whom. ``PageHub`` keeps this node's pages by id and by account, hands a
message to them at once, and publishes it through the ``PeopleFanout`` so the pages on
the other nodes get it too (one process: ``LocalFanout``, nobody to tell). A page's
callbacks must never block (the socket adapter queues); one that raises is logged and
the others still get the message. A page opened while the store is awaited for its
``welcome`` keeps what is pushed meanwhile and gets it right after the welcome.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from confero.app.presence_port import Fanned, PeopleFanout
from confero.domain.accounts import Account

log = logging.getLogger(__name__)

Message = dict[str, Any]
Send = Callable[[Message], None]
#: Why the server closed a page: ``timeout`` (no ping), ``signed_out``, ``shutdown``.
Closer = Callable[[str], None]


def token_key(token: str) -> str:
    """What the store keeps of a page's session token: a digest (a store shared by nodes
    must not hold bearer secrets)."""
    return hashlib.sha256(token.encode()).hexdigest()[:32]


@dataclass(eq=False)
class Page:
    """One open page of ``account`` (one people socket), as this node holds it."""

    id: str
    account: Account
    token: str
    send: Send
    on_close: Closer
    #: Pushes that came before ``welcome`` was sent (the store is awaited in between),
    #: sent right after it; None once it was.
    early: list[Message] | None = field(default_factory=list)

    @property
    def token_key(self) -> str:
        return token_key(self.token)


def safely(fn: Callable[[Any], None], arg: Any) -> None:
    """A page's callback; a failing one is logged, never raised into the service."""
    try:
        fn(arg)
    except Exception:
        log.exception("a page's callback failed")


class PageHub:
    def __init__(self, fanout: PeopleFanout) -> None:
        self.fanout = fanout
        self._pages: dict[str, Page] = {}
        self._by_account: dict[str, dict[str, Page]] = {}

    # ---------------------------------------------------------------- index
    def add(self, page: Page) -> None:
        self._pages[page.id] = page
        self._by_account.setdefault(page.account.id, {})[page.id] = page

    def forget(self, page: Page) -> bool:
        """Out of this node's index; False when it was out already."""
        if self._pages.pop(page.id, None) is None:
            return False
        mine = self._by_account.get(page.account.id, {})
        mine.pop(page.id, None)
        if not mine:
            self._by_account.pop(page.account.id, None)
        return True

    def get(self, page_id: str) -> Page | None:
        return self._pages.get(page_id)

    def all(self) -> list[Page]:
        return list(self._pages.values())

    def of(self, account_id: str) -> list[Page]:
        """This node's pages of the account."""
        return list(self._by_account.get(account_id, {}).values())

    # ------------------------------------------------------------- delivery
    def welcome(self, page: Page, welcome: Message) -> None:
        """The page's first message, then whatever was pushed to it meanwhile."""
        early, page.early = page.early or [], None
        for message in (welcome, *early):
            self.deliver(page, message)

    def deliver(self, page: Page, message: Message) -> None:
        if page.early is not None:  # welcome is not out yet: it goes first
            page.early.append(message)
            return
        safely(page.send, message)

    def push(
        self, account_ids: Iterable[str], message: Message, *, but: Page | None = None
    ) -> None:
        """To the accounts' pages on this node now, and through the fanout on the others."""
        to = list(dict.fromkeys(account_ids))
        if not to:
            return
        but_id = but.id if but is not None else None
        self.push_here(to, message, but=but_id)
        self.fanout.publish(Fanned("push", to=tuple(to), message=message, but=but_id))

    def push_here(
        self, account_ids: Iterable[str], message: Message, *, but: str | None = None
    ) -> None:
        for account_id in account_ids:
            for page in self.of(account_id):
                if page.id != but:
                    self.deliver(page, message)
