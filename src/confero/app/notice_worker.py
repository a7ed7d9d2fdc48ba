"""The worker that sends due notices (F-RS5, F-RS6): mail through the ``Mailer``, SMS
through the ``SmsGateway``, one notice at a time, never inside a request.

It sleeps on the injected clock until the next notice is due, and is woken early when new
notices are planned. A notice is claimed (leased) in one commit, sent, and marked sent in
its own commit right after, so a restart sends what is due once, and several workers on
one database never send the same notice (see ``confero.store.notices``). A crash between
the send and that commit is the only way a notice goes out twice: the lease then expires
and it is sent again (at-least-once, never lost).

Transient delivery errors (server down, timeout) are retried after 1, 5, 15, 60 and 180
minutes; the 6th failure, or a permanent error (address refused, mail not configured),
fails the notice with its error for the panel to show: ``last_error`` starts with a stable
code the panel translates (``confero.domain.notices``), the adapter's words after it. An
SMS takes one credit of the account's allowance when it is sent, atomically; a failed SMS
gives it back.

Issue 18: each try's outcome (sent, retried, failed) goes to ``on_outcome`` with the
notice's channel, a plain callback the composition root points at the metrics; the app
knows nothing of Prometheus.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from confero.app.notices import NoticeService
from confero.app.ports import Clock, DeliveryError, Mailer, SmsGateway, UnitOfWorkFactory
from confero.domain.notices import (
    ALLOWANCE_USED_UP,
    DELIVERY_ERROR,
    DELIVERY_REFUSED,
    DELIVERY_UNAVAILABLE,
    NOTICE_EXPIRED,
    RESERVATION_DELETED,
    Channel,
    Invitation,
    Kind,
    Notice,
    State,
    reason,
    retry_delay,
)

log = logging.getLogger(__name__)

#: How long a claimed notice is held; the adapters' timeouts are far shorter.
LEASE = timedelta(minutes=5)
#: Notices claimed per transaction.
BATCH = 10
#: After an unexpected error (the database away), look again this much later.
PAUSE_AFTER_ERROR = 5.0
#: One send may take this long (seconds) whatever the adapter's own timeouts (a server
#: that drips its answers); past it the try counts as failed and is retried. It also
#: bounds how long ``stop`` waits for the notice in hand.
SEND_TIMEOUT = 60.0

SmsText = Callable[[Invitation], str]
#: (channel, outcome): ``email``/``sms`` and ``sent``/``retried``/``failed``.
Outcome = Callable[[str, str], None]


def _ignore(channel: str, outcome: str) -> None:
    pass


class NoticeWorker:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        notices: NoticeService,
        *,
        mailer: Mailer,
        sms: SmsGateway,
        sms_text: SmsText,
        on_outcome: Outcome = _ignore,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notices = notices
        self._mailer = mailer
        self._sms = sms
        self._sms_text = sms_text
        self._on_outcome = on_outcome
        self._wake = notices.subscribe()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def start(self) -> None:
        assert self._task is None, "started once"
        self._task = asyncio.create_task(self._run(), name="notice-worker")

    async def stop(self) -> None:
        """Lets the notice in hand finish (sent and marked, or not sent at all) and hands
        back the rest of its batch: cancelling between the SMTP server's "250 OK" and the
        commit that marks the notice sent would send it again after a restart."""
        self._notices.unsubscribe(self._wake)
        if self._task is None:
            return
        self._stopping = True
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), SEND_TIMEOUT + 5.0)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._task = None

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                await self.send_due()
                async with self._uow() as uow:
                    next_at = await uow.notices.next_due(self._clock.now())
            except Exception:
                log.exception("notice worker: unexpected error; trying again shortly")
                await asyncio.sleep(PAUSE_AFTER_ERROR)
                continue
            if not self._stopping:
                await self._sleep(next_at)

    async def _sleep(self, until: datetime | None) -> None:
        """Until ``until`` on the clock, or until new notices are planned."""
        waits: list[asyncio.Task[object]] = [asyncio.create_task(self._wake.wait())]
        if until is not None:
            waits.append(asyncio.create_task(self._clock.sleep_until(until)))
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waits:
                task.cancel()
            await asyncio.gather(*waits, return_exceptions=True)

    async def send_due(self) -> int:
        """Sends (or settles) every notice due now; how many it handled."""
        handled = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                batch = await uow.notices.claim(now, now + LEASE, BATCH)
                await uow.commit()
            if not batch:
                return handled
            for position, notice in enumerate(batch):
                if self._stopping:
                    await self._release(batch[position:])
                    return handled
                await self._deliver(notice)
                handled += 1

    async def _release(self, notices: Sequence[Notice]) -> None:
        """Claimed but not tried: free for the next worker now, not when the lease ends."""
        async with self._uow() as uow:
            await uow.notices.release([n.id for n in notices])
            await uow.commit()

    async def _deliver(self, notice: Notice) -> None:
        invitation = await self._notices.content(notice)
        if invitation is None:
            await self._settle(notice, State.CANCELLED, RESERVATION_DELETED)
            return
        if notice.kind is not Kind.CANCEL and self._clock.now() >= invitation.end:
            await self._settle(notice, State.SKIPPED, NOTICE_EXPIRED)
            return
        if notice.channel is Channel.SMS and not await self._take_credit(notice):
            await self._settle(notice, State.SKIPPED, ALLOWANCE_USED_UP)
            return
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                await self._send(notice, invitation)
        except TimeoutError:
            late = DeliveryError("no answer in time", code=DELIVERY_UNAVAILABLE)
            await self._failed(notice, late)
            return
        except DeliveryError as e:
            await self._failed(notice, e)
            return
        except Exception as e:  # an adapter's bug must not stop the other notices
            log.exception("notice %s: unexpected error while sending", notice.id)
            await self._failed(notice, DeliveryError(f"{e!r}", code=DELIVERY_ERROR))
            return
        async with self._uow() as uow:
            await uow.notices.mark_sent(notice.id, self._clock.now())
            await uow.commit()
        log.info("notice %s (%s %s) sent", notice.id, notice.channel, notice.kind)
        self._on_outcome(notice.channel.value, "sent")

    async def _send(self, notice: Notice, invitation: Invitation) -> None:
        if notice.channel is Channel.EMAIL:
            await self._mailer.send(notice.recipient, invitation)
        else:
            await self._sms.send(notice.recipient, self._sms_text(invitation))

    async def _take_credit(self, notice: Notice) -> bool:
        async with self._uow() as uow:
            taken = await uow.notices.take_sms_credit(notice.account_id)
            await uow.commit()
        return taken

    async def _settle(self, notice: Notice, state: State, error: str) -> None:
        async with self._uow() as uow:
            await uow.notices.mark_done(notice.id, state, error)
            await uow.commit()

    async def _failed(self, notice: Notice, error: DeliveryError) -> None:
        attempts = notice.attempts + 1
        delay = None if error.permanent else retry_delay(attempts)
        log.warning("notice %s: try %d failed: %s", notice.id, attempts, error.detail)
        why = _reason(error)
        async with self._uow() as uow:
            if notice.channel is Channel.SMS:
                await uow.notices.refund_sms_credit(notice.account_id)
            if delay is None:
                await uow.notices.mark_done(notice.id, State.FAILED, why, attempts)
            else:
                next_try = self._clock.now() + delay
                await uow.notices.mark_retry(notice.id, attempts, next_try, why)
            await uow.commit()
        self._on_outcome(notice.channel.value, "failed" if delay is None else "retried")


def _reason(error: DeliveryError) -> str:
    """``last_error``: the error's stable code, else refused (permanent) or unavailable."""
    code = error.code or (DELIVERY_REFUSED if error.permanent else DELIVERY_UNAVAILABLE)
    return reason(code, error.detail)
