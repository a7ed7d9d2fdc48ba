"""Logs (issue 18, observe/logs.py): one JSON object per line with the context ids,
the plain format as before, and secrets masked in whatever logger wrote them."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from confero.observe import logs


@pytest.fixture
def captured() -> tuple[logging.Logger, io.StringIO]:
    """A logger writing through the JSON handler into a string."""
    out = io.StringIO()
    logger = logging.getLogger("tests.observe.json")
    logger.handlers[:] = [logs.handler("json", out)]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, out


def lines(out: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


def test_a_json_line_has_the_fields_and_only_the_ids_that_are_set(captured) -> None:
    logger, out = captured
    logger.info("outside %s", "any call")
    with logs.bound(call_id="a84b4c76e66710@pc33", room_id="r1"):
        logger.warning("inside")
    (outside, inside) = lines(out)
    assert set(outside) == {"time", "level", "logger", "message"}
    assert outside["message"] == "outside any call"
    assert outside["logger"] == "tests.observe.json"
    assert str(outside["time"]).endswith("Z")
    assert inside["level"] == "warning"
    assert inside["call_id"] == "a84b4c76e66710@pc33"
    assert inside["room_id"] == "r1"
    assert "participant_id" not in inside
    assert logs.call_id.get() is None  # the block put the context back


def test_each_task_logs_with_its_own_call(captured) -> None:
    logger, out = captured

    async def call(call_id: str) -> None:
        logs.bind(call_id=call_id)  # the task's own copy of the context
        await asyncio.sleep(0)
        logger.info("prompt played")
        await asyncio.sleep(0)
        logger.info("hung up")

    async def main() -> None:
        await asyncio.gather(call("one@x"), call("two@x"))
        logger.info("after")

    asyncio.run(main())
    entries = lines(out)
    assert sorted(str(e["call_id"]) for e in entries[:4]) == ["one@x"] * 2 + ["two@x"] * 2
    assert "call_id" not in entries[4]


def test_an_exception_is_one_line_with_its_traceback(captured) -> None:
    logger, out = captured
    try:
        raise ValueError("token=abc123secret")
    except ValueError:
        logger.exception("failed")
    (entry,) = lines(out)
    assert "Traceback" in str(entry["exc"])
    assert "abc123secret" not in out.getvalue()


@pytest.mark.parametrize(
    ("message", "secret"),
    [
        ("caller entered PIN 482913", "482913"),
        ("room %s admin_pin=%s", "771234"),
        ('body {"pin": "123456"}', "123456"),
        (
            '127.0.0.1:5000 - "GET /join/q8Zt3-AbCdEfGhIjKlMnOpQr HTTP/1.1" 200',
            "q8Zt3-AbCdEfGhIjKlMnOpQr",
        ),
        ('"WebSocket /ws/v1/join/q8Zt3-AbCdEf" [accepted]', "q8Zt3-AbCdEf"),
        ("Authorization: Bearer eyJhbGciOi.x.y", "eyJhbGciOi.x.y"),
        ("GET /api/v1/x?token=s3cr3t&page=2", "s3cr3t"),
        ("smtp login password: hunter2", "hunter2"),
        ("cookie confero_session=Zm9vYmFy; path=/", "Zm9vYmFy"),
        ("sip trunk secret=pa55", "pa55"),
    ],
)
def test_secrets_are_masked_and_the_event_stays(captured, message: str, secret: str) -> None:
    logger, out = captured
    if "%s" in message:
        logger.info(message, "r1", secret)
    else:
        logger.info(message)
    assert secret not in out.getvalue()
    (entry,) = lines(out)
    assert logs.MASK in str(entry["message"])


def test_ids_and_numbers_that_are_not_secrets_stay() -> None:
    text = "call 12-345@10.0.0.2 admitted to room 0f3c; 3 participants, port 5060"
    assert logs.redact(text) == text


def test_configure_replaces_the_root_handler_and_keeps_the_text_format() -> None:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    out = io.StringIO()
    try:
        logs.configure("text", "warning", out)
        assert len(root.handlers) == 1
        logging.getLogger("uvicorn.access").warning('"GET /join/abcdef HTTP/1.1" 200')
        logging.getLogger("confero.x").info("not at this level")
        line = out.getvalue().strip()
        # time level logger message, as `confero serve` always printed
        assert line.split(" ", 3)[2:] == ["WARNING", 'uvicorn.access "GET /join/*** HTTP/1.1" 200']
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
