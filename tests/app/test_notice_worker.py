"""Notices going out for real (F-RS5, F-RS6, F-RS7): the worker sends mail to a real SMTP
server and SMS to a real HTTP gateway on 127.0.0.1, on the injected clock.

What a user notices: the invitation at booking and the reminder 1 hour before; one
message at the start for a near booking; an updated calendar entry (higher SEQUENCE)
when the time moves, with the reminder following it; a cancellation when deleted, and
silence after; exactly one message whatever restarts, outages or extra workers happen.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from confero.app.notice_worker import NoticeWorker
from confero.app.notices import NoticeService
from confero.app.ports import Mailer, UnitOfWorkFactory
from confero.app.services import Services
from confero.config import Settings
from confero.domain.accounts import Account
from confero.domain.errors import DomainError
from confero.domain.notices import Channel, Invitation, Kind, Notice, State
from confero.domain.reservations import Reservation
from confero.notify.email import SmtpMailer
from confero.notify.sms import sms_text
from confero.observe.metrics import Metrics
from confero.server import build, mailer, sms_gateway
from confero.store.database import upgrade
from confero.store.uow import make_uow_factory
from tests.app.notice_support import entry, eventually, settle
from tests.clock import FakeClock
from tests.notify.factory import invitation
from tests.notify.sms_gateway import SmsSink, sms_sink  # noqa: F401
from tests.notify.smtp import SmtpSink, smtp_sink  # noqa: F401
from tests.store.databases import KINDS, scratch_engine

PASSWORD = "correct horse battery staple"
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
ANN = "ann@example.org"
PHONE = "+48600100200"


@pytest.fixture
def settings(tmp_path: Path, smtp_sink: SmtpSink, sms_sink: SmsSink) -> Settings:  # noqa: F811
    return Settings(
        data_dir=tmp_path / "var",
        http_port=8080,
        smtp_host=smtp_sink.host,
        smtp_port=smtp_sink.port,
        sms_url=sms_sink.url,
        sms_token="s3cret",
        sms_from="Confero",
        access_number="223500908",
    )


async def host_with_sms(services: Services, allowance: int = 10) -> Account:
    host = await services.accounts.create("host@example.org", PASSWORD, "Hanna Host")
    await set_allowance(services, host, allowance)
    return host


async def set_allowance(services: Services, host: Account, allowance: int) -> None:
    host.sms_allowance = allowance
    async with services.uow() as uow:
        await uow.accounts.update(host)
        await uow.commit()


@pytest.fixture
async def host(services: Services) -> Account:
    return await host_with_sms(services)


async def notices_of(services: Services, r: Reservation) -> list[Notice]:
    return await services.notices.for_reservation(r.id)


async def all_sent(services: Services, r: Reservation, count: int) -> None:
    async def check() -> bool:
        found = await notices_of(services, r)
        return sum(n.state is State.SENT for n in found) >= count

    await eventually(check)


async def first_notice_when(
    services: Services, r: Reservation, done: Callable[[Notice], bool]
) -> Notice:
    """Wait until the booking's first notice is ``done``; return it as it is then."""

    async def check() -> bool:
        return done((await notices_of(services, r))[0])

    await eventually(check)
    return (await notices_of(services, r))[0]


# ---------------------------------------------------------------- the seed-004 schedule


async def test_a_booking_two_days_ahead_mails_at_once_and_one_hour_before(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    start = clock.now() + 2 * DAY
    r, room = await services.reservations.book(
        host, start, start + HOUR, title="Board", invitee_emails=[ANN]
    )
    first = (await smtp_sink.wait_for(1))[0]
    assert entry(first) == {
        "METHOD": "REQUEST",
        "UID": f"{r.id}@confero",
        "SEQUENCE": 0,
        "DTSTART": start,
        "DTEND": start + HOUR,
    }
    body = first.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert room.conference_number in content and room.pin in content
    assert room.admin_pin not in content
    assert "223500908" in content

    clock.set(start - HOUR - SECOND)
    await settle()
    assert len(smtp_sink.messages) == 1
    clock.set(start - HOUR)
    reminder = (await smtp_sink.wait_for(2))[1]
    assert entry(reminder)["SEQUENCE"] == 0
    assert smtp_sink.recipients == [[ANN], [ANN]]

    clock.set(start + HOUR)
    await settle()
    assert len(smtp_sink.messages) == 2
    found = await notices_of(services, r)
    assert [(n.kind, n.state) for n in found] == [
        (Kind.INVITATION, State.SENT),
        (Kind.REMINDER, State.SENT),
    ]


async def test_a_booking_three_hours_ahead_sends_one_message_at_the_start(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    start = clock.now() + 3 * HOUR
    r, _ = await services.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
    await settle()
    clock.set(start - HOUR)
    await settle()
    assert smtp_sink.messages == []
    clock.set(start)
    only = (await smtp_sink.wait_for(1))[0]
    assert entry(only)["DTSTART"] == start
    clock.set(start + 30 * MINUTE)
    await settle()
    assert len(smtp_sink.messages) == 1
    assert [n.kind for n in await notices_of(services, r)] == [Kind.AT_START]


async def test_moving_the_start_sends_an_updated_entry_and_the_reminder_follows(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    start = clock.now() + 2 * DAY
    r, _ = await services.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
    await smtp_sink.wait_for(1)
    later = start + DAY
    moved = await services.reservations.update(host, r.id, start=later, end=later + 2 * HOUR)
    assert moved.sequence == 1
    update = (await smtp_sink.wait_for(2))[1]
    assert entry(update) == {
        "METHOD": "REQUEST",
        "UID": f"{r.id}@confero",
        "SEQUENCE": 1,
        "DTSTART": later,
        "DTEND": later + 2 * HOUR,
    }
    clock.set(start - HOUR)  # the old reminder's time: silence
    await settle()
    assert len(smtp_sink.messages) == 2
    clock.set(later - HOUR)
    reminder = (await smtp_sink.wait_for(3))[2]
    assert (entry(reminder)["SEQUENCE"], entry(reminder)["DTSTART"]) == (1, later)
    await settle()
    assert len(smtp_sink.messages) == 3


async def test_deleting_sends_a_cancellation_and_nothing_later(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    start = clock.now() + 2 * DAY
    r, _ = await services.reservations.book(
        host, start, start + HOUR, invitee_emails=[ANN, "ben@example.org"]
    )
    await smtp_sink.wait_for(2)
    await all_sent(services, r, 2)
    await services.reservations.delete(host, r.id)
    cancels = (await smtp_sink.wait_for(4))[2:]
    for mail in cancels:
        assert entry(mail)["METHOD"] == "CANCEL"
        assert entry(mail)["UID"] == f"{r.id}@confero"
        assert entry(mail)["SEQUENCE"] == 1
    assert sorted(r[0] for r in smtp_sink.recipients[2:]) == [ANN, "ben@example.org"]
    clock.set(start + HOUR)
    await settle()
    assert len(smtp_sink.messages) == 4


async def test_deleting_the_room_cancels_its_booking_for_everyone_told(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    start = clock.now() + 2 * DAY
    r, room = await services.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
    await smtp_sink.wait_for(1)
    await all_sent(services, r, 1)
    await services.reservations.delete_room(host, room.id)
    cancel = (await smtp_sink.wait_for(2))[1]
    assert entry(cancel)["METHOD"] == "CANCEL"
    assert entry(cancel)["UID"] == f"{r.id}@confero"
    with pytest.raises(DomainError):
        await services.rooms.get(host, room.id)
    clock.set(start)
    await settle()
    assert len(smtp_sink.messages) == 2, "no reminder for a room that is gone"


async def test_deleting_a_finished_booking_tells_nobody(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    start = clock.now() + 2 * DAY
    r, _ = await services.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
    await all_sent(services, r, 1)
    clock.set(start - HOUR)
    await all_sent(services, r, 2)
    clock.set(start + HOUR + 10 * MINUTE)
    await services.reservations.delete(host, r.id)
    await settle()
    assert len(smtp_sink.messages) == 2, "invitation and reminder only"


async def test_a_restart_between_booking_and_reminder_still_sends_it_once(
    settings: Settings,
    clock: FakeClock,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    first = await build(settings, clock=clock)
    host = await host_with_sms(first)
    start = clock.now() + 2 * DAY
    await first.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
    await smtp_sink.wait_for(1)
    await first.close()

    clock.set(start - HOUR)
    second = await build(settings, clock=clock)
    try:
        await smtp_sink.wait_for(2)
        await settle()
        assert len(smtp_sink.messages) == 2
    finally:
        await second.close()


async def test_a_mail_server_down_is_retried_with_backoff_and_delivered_once(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    smtp_sink.stop()
    start = clock.now() + 2 * DAY
    r, _ = await services.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
    first = await first_notice_when(services, r, lambda n: n.attempts == 1)
    assert first.state is State.PENDING
    assert first.last_error and first.last_error.startswith("delivery.unavailable: SMTP server")
    assert "127.0.0.1" in first.last_error
    assert first.next_try_at == clock.now() + MINUTE

    clock.advance(MINUTE)  # second try: still down
    second = await first_notice_when(services, r, lambda n: n.attempts == 2)
    assert second.next_try_at == clock.now() + 5 * MINUTE

    smtp_sink.start()
    clock.advance(5 * MINUTE - SECOND)
    await settle()
    assert smtp_sink.messages == []
    clock.advance(SECOND)
    await smtp_sink.wait_for(1)
    await all_sent(services, r, 1)
    await settle()
    assert len(smtp_sink.messages) == 1


async def test_a_refused_address_fails_at_once_with_the_reason(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    smtp_sink.refuse(ANN)
    start = clock.now() + 2 * DAY
    r, _ = await services.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
    notice = await first_notice_when(services, r, lambda n: n.state is State.FAILED)
    assert notice.attempts == 1 and notice.last_error
    # A stable code the panel translates, then the server's own words.
    assert notice.last_error.startswith("delivery.refused: recipient refused: 550")


# ---------------------------------------------------------------- SMS


async def test_sms_go_out_as_chosen_and_count_against_the_allowance(
    services: Services,
    clock: FakeClock,
    sms_sink: SmsSink,  # noqa: F811
) -> None:
    host = await host_with_sms(services, allowance=2)
    start = clock.now() + 2 * DAY
    r, room = await services.reservations.book(
        host,
        start,
        start + HOUR,
        invitee_phones=[PHONE, "+48600100300"],
        notify_email=False,
        sms_at_booking=True,
        sms_reminder=True,
    )
    # Four SMS planned, two credits: the reminders are skipped at once.
    found = await notices_of(services, r)
    assert [(n.channel, n.kind) for n in found] == [
        (Channel.SMS, Kind.INVITATION),
        (Channel.SMS, Kind.INVITATION),
        (Channel.SMS, Kind.REMINDER),
        (Channel.SMS, Kind.REMINDER),
    ]
    assert {n.state for n in found[:2]} <= {State.PENDING, State.SENT}
    assert {n.state for n in found[2:]} == {State.SKIPPED}
    assert {n.last_error for n in found[2:]} == {"sms.allowance_used_up"}
    received = await sms_sink.wait_for(2)
    assert sorted(m["to"] for m in received) == ["+48600100200", "+48600100300"]
    for message in received:
        assert message["from"] == "Confero"
        assert message["authorization"] == "Bearer s3cret"
        assert room.conference_number in message["text"] and room.pin in message["text"]
        assert room.admin_pin not in message["text"]
    account = await services.accounts.by_email("host@example.org")
    assert account is not None and (account.sms_used, account.sms_left) == (2, 0)
    clock.set(start)
    await settle()
    assert len(sms_sink.received) == 2


async def test_the_allowance_is_checked_again_when_sending(
    services: Services,
    clock: FakeClock,
    host: Account,
    sms_sink: SmsSink,  # noqa: F811
) -> None:
    start = clock.now() + 2 * DAY
    r, _ = await services.reservations.book(
        host, start, start + HOUR, invitee_phones=[PHONE], sms_reminder=True
    )
    await set_allowance(services, host, 0)  # the administrator took the credits away meanwhile
    clock.set(start - HOUR)
    skipped = await first_notice_when(services, r, lambda n: n.state is State.SKIPPED)
    assert skipped.last_error == "sms.allowance_used_up"
    assert sms_sink.received == []


async def test_a_gateway_down_gives_the_credit_back_until_it_delivers(
    services: Services,
    clock: FakeClock,
    sms_sink: SmsSink,  # noqa: F811
) -> None:
    host = await host_with_sms(services, allowance=1)
    sms_sink.failing = True
    start = clock.now() + 3 * HOUR
    r, _ = await services.reservations.book(
        host, start, start + HOUR, invitee_phones=[PHONE], sms_at_booking=True
    )
    clock.set(start)
    await first_notice_when(services, r, lambda n: n.attempts == 1)
    account = await services.accounts.by_email("host@example.org")
    assert account is not None and account.sms_used == 0
    sms_sink.failing = False
    clock.advance(MINUTE)
    await sms_sink.wait_for(1)
    await all_sent(services, r, 1)
    account = await services.accounts.by_email("host@example.org")
    assert account is not None and account.sms_used == 1


# ---------------------------------------------------------------- refusals


async def test_invalid_invitees_are_refused_with_the_field_and_nothing_is_stored(
    services: Services,
    clock: FakeClock,
    host: Account,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    start = clock.now() + 2 * DAY
    for field, fields in (
        ("invitee_emails", {"invitee_emails": [ANN, "not an address"]}),
        ("invitee_phones", {"invitee_phones": [PHONE, "call me"]}),
    ):
        with pytest.raises(DomainError) as caught:
            await services.reservations.book(host, start, start + HOUR, **fields)  # type: ignore[arg-type]
        assert caught.value.code == "reservation.invalid_invitee"
        assert caught.value.context["field"] == field
    assert await services.reservations.list(host) == []
    async with services.uow() as uow:
        assert await uow.notices.next_due(clock.now()) is None
    await settle()
    assert smtp_sink.messages == []


# ---------------------------------------------------------------- several workers


@pytest.fixture(params=KINDS)
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """One database the workers share; PostgreSQL in a schema of its own."""
    async with scratch_engine(request.param, tmp_path / "shared.db") as eng:
        await upgrade(eng)
        yield eng


async def test_three_workers_on_one_database_never_send_a_notice_twice(
    engine: AsyncEngine,
    clock: FakeClock,
    settings: Settings,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    uow = make_uow_factory(engine)
    planner = NoticeService(uow, clock, base_url="http://confero.test")
    addresses = [f"guest{n}@example.org" for n in range(30)]
    async with uow() as u:
        for n, address in enumerate(addresses):
            content = invitation(kind=Kind.ADHOC, uid=f"adhoc-{n}@confero")
            await u.notices.add(
                Notice(
                    id=f"notice{n:03d}",
                    account_id="acct",
                    room_id="room",
                    reservation_id=None,
                    channel=Channel.EMAIL,
                    recipient=address,
                    kind=Kind.ADHOC,
                    due_at=clock.now(),
                    created_at=clock.now(),
                    invitation=content,
                )
            )
        await u.commit()
    clock.set(datetime(2026, 11, 10, 14, 0, tzinfo=clock.now().tzinfo))  # before its end
    workers = [
        NoticeWorker(
            make_uow_factory(engine),
            clock,
            planner,
            mailer=SmtpMailer(smtp_sink.host, smtp_sink.port, sender="c@example.org"),
            sms=sms_gateway(settings, uow, clock),
            sms_text=sms_text,
        )
        for _ in range(3)  # a cluster's three nodes (issue 16): FOR UPDATE SKIP LOCKED
    ]
    for worker in workers:
        worker.start()
    try:
        await smtp_sink.wait_for(len(addresses))
        await settle()
    finally:
        for worker in workers:
            await worker.stop()
    assert sorted(r[0] for r in smtp_sink.recipients) == sorted(addresses)
    assert mailer(settings) is not None


class _HeldMailer:
    """The real SMTP mailer, but the second mail waits until the test lets it go: a stop
    arrives while that mail is in hand."""

    def __init__(self, sink: SmtpSink) -> None:
        self._mailer = SmtpMailer(sink.host, sink.port, sender="c@example.org")
        self.holding = asyncio.Event()
        self.go = asyncio.Event()
        self.calls = 0

    async def send(self, to: str, inv: Invitation) -> None:
        self.calls += 1
        if self.calls == 2:
            self.holding.set()
            await self.go.wait()
        await self._mailer.send(to, inv)


async def test_a_stop_mid_send_finishes_that_notice_and_hands_back_the_rest(
    engine: AsyncEngine,
    clock: FakeClock,
    settings: Settings,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    """Exactly once across a restart: the mail in hand is marked sent before the worker
    stops, and the notices it had claimed but not tried go to the next worker at once."""
    uow = make_uow_factory(engine)
    planner = NoticeService(uow, clock, base_url="http://confero.test")
    async with uow() as u:
        for n in range(4):
            await u.notices.add(
                Notice(
                    id=f"notice{n:03d}",
                    account_id="acct",
                    room_id="room",
                    reservation_id=None,
                    channel=Channel.EMAIL,
                    recipient=f"guest{n}@example.org",
                    kind=Kind.ADHOC,
                    due_at=clock.now(),
                    created_at=clock.now(),
                    invitation=invitation(kind=Kind.ADHOC, uid=f"adhoc-{n}@confero"),
                )
            )
        await u.commit()
    clock.set(datetime(2026, 11, 10, 14, 0, tzinfo=clock.now().tzinfo))  # before its end
    held = _HeldMailer(smtp_sink)

    def worker(mailer: Mailer) -> NoticeWorker:
        return NoticeWorker(
            uow,
            clock,
            planner,
            mailer=mailer,
            sms=sms_gateway(settings, uow, clock),
            sms_text=sms_text,
        )

    first = worker(held)
    first.start()
    await asyncio.wait_for(held.holding.wait(), 10)
    stopping = asyncio.create_task(first.stop())
    await asyncio.sleep(0.1)
    assert not stopping.done(), "the stop waits for the mail in hand"
    held.go.set()
    await stopping
    assert len(await smtp_sink.wait_for(2)) == 2
    sent = {n.recipient for n in await _all_notices(uow) if n.state is State.SENT}
    assert sent == {"guest0@example.org", "guest1@example.org"}

    second = worker(SmtpMailer(smtp_sink.host, smtp_sink.port, sender="c@example.org"))
    second.start()
    try:
        await smtp_sink.wait_for(4)  # the lease (5 minutes on the clock) has not run out
        await settle()
    finally:
        await second.stop()
    assert sorted(r[0] for r in smtp_sink.recipients) == [f"guest{n}@example.org" for n in range(4)]


async def _all_notices(uow: UnitOfWorkFactory) -> list[Notice]:
    async with uow() as u:
        return [n for i in range(4) if (n := await u.notices.get(f"notice{i:03d}")) is not None]


# ---------------------------------------------------------------- metrics (issue 18)


async def test_outcomes_and_the_queue_reach_the_nodes_metrics(
    settings: Settings,
    clock: FakeClock,
    smtp_sink: SmtpSink,  # noqa: F811
) -> None:
    """A try that fails for now (retried), one refused for good (failed), one delivered
    (sent), each counted by channel; the queue is a database count at scrape time."""
    metrics = Metrics()
    services = await build(settings, clock=clock, metrics=metrics)

    async def scrape() -> dict[tuple[str, ...], float]:
        out: dict[tuple[str, ...], float] = {}
        exposed = (await metrics.exposition()).decode()
        for family in text_string_to_metric_families(exposed):
            for s in family.samples:
                if s.name in ("confero_notices_total", "confero_notices_queued"):
                    out[(s.name, *s.labels.values())] = s.value
        return out

    try:
        host = await host_with_sms(services)
        smtp_sink.stop()
        smtp_sink.refuse("bob@example.org")
        start = clock.now() + 2 * DAY
        r, _ = await services.reservations.book(host, start, start + HOUR, invitee_emails=[ANN])
        await first_notice_when(services, r, lambda n: n.attempts == 1)
        seen = await scrape()
        assert seen[("confero_notices_total", "email", "retried")] == 1
        assert seen[("confero_notices_queued",)] == 2  # now (to retry) and 1 h before
        smtp_sink.start()
        clock.advance(MINUTE)
        await all_sent(services, r, 1)
        r2, _ = await services.reservations.book(
            host, start + DAY, start + DAY + HOUR, invitee_emails=["bob@example.org"]
        )

        async def failed() -> bool:
            return (await notices_of(services, r2))[0].state is State.FAILED

        await eventually(failed)
        seen = await scrape()
        assert seen[("confero_notices_total", "email", "sent")] == 1
        assert seen[("confero_notices_total", "email", "failed")] == 1
        assert seen[("confero_notices_total", "sms", "sent")] == 0
        assert seen[("confero_notices_queued",)] == 2  # both reminders, not yet due
    finally:
        await services.close()
