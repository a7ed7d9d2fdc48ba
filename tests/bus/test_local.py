"""The in-process bus as the actors' outbox (confero/bus/local.py): fast subscribers get
every event at once and in order; durable consumers get each room's events in order, at
least once, from a task of their own; a failing or slow consumer holds up nobody else;
``drain`` returns once everything appended is handled."""

from __future__ import annotations

import asyncio
import logging

import pytest

from confero.app.ports import DurableHandler
from confero.bus.local import LocalBus
from confero.domain import events as ev


def lock(room: str, n: int) -> ev.LockChanged:
    """Event ``n`` of ``room``: the ``by`` field carries the number, to check the order."""
    return ev.LockChanged(room_id=room, locked=n % 2 == 1, by=str(n))


def numbers(events: list[ev.Event]) -> list[int]:
    return [int(e.by) for e in events if isinstance(e, ev.LockChanged) and e.by is not None]


async def test_a_plain_fast_handler_has_every_event_before_emit_returns() -> None:
    bus, seen = LocalBus(), list[ev.Event]()
    bus.subscribe(seen.append)
    bus.emit([lock("r", 1), lock("r", 2)])
    assert numbers(seen) == [1, 2]


async def test_an_async_fast_handler_gets_them_in_order_from_its_own_task() -> None:
    bus, seen = LocalBus(), list[ev.Event]()

    async def handler(event: ev.Event) -> None:
        await asyncio.sleep(0)  # even one that yields keeps the order
        seen.append(event)

    bus.subscribe(handler)
    bus.emit([lock("r", n) for n in range(1, 6)])
    assert seen == [], "emit never waits for an async handler"
    await bus.drain()
    assert numbers(seen) == [1, 2, 3, 4, 5]


async def test_a_failing_fast_handler_does_not_stop_the_others(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus, seen = LocalBus(), list[ev.Event]()

    def broken(event: ev.Event) -> None:
        raise RuntimeError("bug")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    with caplog.at_level(logging.ERROR):
        bus.emit([lock("r", 1)])
    assert numbers(seen) == [1]
    assert "event handler failed" in caplog.text


async def test_durable_consumers_see_each_event_in_order_one_event_at_a_time() -> None:
    bus, trace = LocalBus(), list[tuple[str, int]]()

    def consumer(name: str) -> DurableHandler:
        async def handle(event: ev.Event) -> None:
            await asyncio.sleep(0)
            trace.append((name, int(event.by or 0) if isinstance(event, ev.LockChanged) else 0))

        return handle

    bus.subscribe_durable("log", consumer("log"))
    bus.subscribe_durable("state", consumer("state"))
    bus.emit([lock("r", n) for n in range(1, 5)])
    assert trace == [], "durable consumers run in a task of the bus, not inside emit"
    await bus.drain("r")
    assert trace == [(name, n) for n in range(1, 5) for name in ("log", "state")]


async def test_a_failing_consumer_is_retried_then_skipped_and_blocks_nobody(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus, seen, fast = LocalBus(retries=3, backoff=0.001), list[ev.Event](), list[ev.Event]()
    tries: list[int] = []

    async def broken(event: ev.Event) -> None:
        tries.append(int(event.by or 0) if isinstance(event, ev.LockChanged) else 0)
        raise RuntimeError("database down")

    async def store(event: ev.Event) -> None:
        seen.append(event)

    bus.subscribe(fast.append)
    bus.subscribe_durable("broken", broken)
    bus.subscribe_durable("store", store)
    with caplog.at_level(logging.ERROR):
        bus.emit([lock("r", 1), lock("r", 2)])
        assert numbers(fast) == [1, 2]
        await asyncio.wait_for(bus.drain("r"), 5)
    assert numbers(seen) == [1, 2]
    assert tries == [1, 1, 1, 2, 2, 2], "three tries per event, then on to the next"
    assert "durable consumer broken gave up on lock_changed after 3 tries" in caplog.text


async def test_delivery_is_at_least_once() -> None:
    bus, seen = LocalBus(backoff=0.001), list[ev.Event]()
    failures = [RuntimeError("once")]

    async def flaky(event: ev.Event) -> None:
        seen.append(event)
        if failures:
            raise failures.pop()

    bus.subscribe_durable("flaky", flaky)
    bus.emit([lock("r", 1), lock("r", 2)])
    await bus.drain("r")
    assert numbers(seen) == [1, 1, 2], "the failed event came again, the order held"


async def test_a_slow_consumer_holds_only_its_room_and_drain_waits_for_it() -> None:
    bus, gate, seen = LocalBus(), asyncio.Event(), list[ev.Event]()

    async def store(event: ev.Event) -> None:
        if event.room_id == "slow":
            await gate.wait()
        seen.append(event)

    bus.subscribe_durable("store", store)
    bus.emit([lock("slow", 1), lock("fast", 2)])
    await asyncio.wait_for(bus.drain("fast"), 1)
    assert numbers(seen) == [2], "the other room went on"
    draining = asyncio.create_task(bus.drain("slow"))
    await asyncio.sleep(0.05)
    assert not draining.done(), "drain returns only once the event is handled"
    gate.set()
    await asyncio.wait_for(draining, 1)
    assert numbers(seen) == [2, 1]


async def test_drain_of_everything_includes_what_consumers_publish_meanwhile() -> None:
    bus, seen = LocalBus(), list[ev.Event]()

    async def store(event: ev.Event) -> None:
        seen.append(event)
        if isinstance(event, ev.RoomResetRequested):
            await bus.publish(ev.RoomContentReset(room_id=event.room_id))

    bus.subscribe_durable("store", store)
    bus.emit([ev.RoomResetRequested(room_id="a"), lock("b", 1)])
    await asyncio.wait_for(bus.drain(), 1)
    assert [type(e) for e in seen if e.room_id == "a"] == [
        ev.RoomResetRequested,
        ev.RoomContentReset,
    ]
    assert numbers(seen) == [1]


async def test_a_consumer_cannot_drain_its_own_room(caplog: pytest.LogCaptureFixture) -> None:
    bus = LocalBus(retries=1)
    refused: list[BaseException] = []

    async def waits_for_itself(event: ev.Event) -> None:
        try:
            await bus.drain(event.room_id)
        except RuntimeError as exc:
            refused.append(exc)

    bus.subscribe_durable("selfish", waits_for_itself)
    bus.emit([lock("r", 1)])
    await asyncio.wait_for(bus.drain("r"), 1)
    assert refused, "it would wait for itself forever"


async def test_unsubscribed_handlers_get_nothing_more() -> None:
    bus, fast, durable = LocalBus(), list[ev.Event](), list[ev.Event]()

    async def store(event: ev.Event) -> None:
        durable.append(event)

    stop_fast = bus.subscribe(fast.append)
    stop_durable = bus.subscribe_durable("store", store)
    bus.emit([lock("r", 1)])
    await bus.drain()
    stop_fast()
    stop_durable()
    bus.emit([lock("r", 2)])
    await bus.drain()
    assert numbers(fast) == [1] and numbers(durable) == [1]
