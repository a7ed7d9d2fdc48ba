"""The in-memory presence store (app/presence_port.py): pages and their pings, who is in
a meeting, and calls with the time the sweeper acts on them."""

from __future__ import annotations

from datetime import UTC, datetime

from confero.app.presence_port import PageRecord, PresenceStore
from confero.bus.presence import MemoryPresence
from confero.domain.calls import Call

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def store() -> PresenceStore:
    return MemoryPresence()  # checked against the port by mypy here


def test_pages_pings_and_tokens() -> None:
    s = store()
    s.add_page(PageRecord("p1", "ann", "tok-a", 10.0))
    s.add_page(PageRecord("p2", "ann", "tok-b", 10.0))
    s.add_page(PageRecord("p3", "bob", "tok-c", 10.0))
    assert [p.id for p in s.pages_of("ann")] == ["p1", "p2"]
    assert [p.id for p in s.pages_with_token("tok-b")] == ["p2"]
    assert s.touch_page("p1", 20.0) and not s.touch_page("gone", 20.0)
    assert sorted(p.id for p in s.stale_pages(15.0)) == ["p2", "p3"]
    assert s.stale_pages(5.0) == []
    removed = s.remove_page("p2")
    assert removed is not None and removed.account_id == "ann"
    assert s.remove_page("p2") is None
    assert [p.id for p in s.pages_of("ann")] == ["p1"]
    assert s.pages_of("cid") == []


def test_meetings() -> None:
    s = store()
    s.enter_meeting("pid-1", "ann", "room-1")
    s.enter_meeting("pid-2", "ann", "room-2")
    s.enter_meeting("pid-3", "bob", "room-1")
    assert s.in_meeting("ann") and s.in_room("ann", "room-2") and not s.in_room("bob", "room-2")
    assert s.leave_meeting("pid-2") == "ann" and s.leave_meeting("pid-2") is None
    assert s.in_meeting("ann"), "still in room 1"
    assert s.end_meeting("room-1") == {"ann", "bob"}
    assert not s.in_meeting("ann") and not s.in_meeting("bob")
    assert s.end_meeting("room-1") == set()


def test_calls_and_when_they_are_due() -> None:
    s = store()
    one = Call.start("ann", "Ann", "bob", "Bob", waiting=False, now=NOW)
    two = Call.start("cid", "Cid", "ann", "Ann", waiting=True, now=NOW)
    s.put_call(one, 30.0)
    s.put_call(two, 40.0)
    assert s.get_call(one.id) == one and s.get_call("nope") is None
    assert [c.id for c in s.calls_of("ann")] == [one.id, two.id]
    assert [c.id for c in s.calls_of("bob")] == [one.id]
    assert [c.id for c in s.due_calls(35.0)] == [one.id]
    accepted = one.accept("room-9", "/join/t?call=x")
    s.put_call(accepted, None)
    assert s.get_call(one.id) == accepted
    assert s.due_calls(1000.0) == [two]
    assert s.call_in_room("room-9") == accepted and s.call_in_room("room-1") is None
    s.drop_call(one.id)
    s.drop_call(one.id)
    assert s.get_call(one.id) is None and [c.id for c in s.calls_of("ann")] == [two.id]
