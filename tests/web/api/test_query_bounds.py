"""Integer bounds on query parameters (issue 14): ``before=9223372036854775808`` was a 500
(integer overflow in the database driver) on the chat, the activity log and the socket's
``chat_history``. Now it is refused as malformed input, and the largest id a row can have
still works: on SQLite and on PostgreSQL, whose ``Integer`` ids are 32 bits (asyncpg
refuses 2**31 as a parameter, which was a 500 too).
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from confero.config import Settings
from confero.store.database import create_engine
from confero.web.limits import MAX_ID
from confero.webrtc import signaling
from tests.store.databases import PG_URL
from tests.web.support import User, assert_problem

TOP = MAX_ID
OVERS = (2**31, 2**63, 10**30)  # 2**63 = 9223372036854775808, the attack's value


@pytest.fixture(params=["sqlite", "postgresql"])
async def settings(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Settings]:
    """The app on SQLite, and on a fresh PostgreSQL database when one is configured."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path / "var", http_port=8080)
        return
    if not PG_URL:
        pytest.skip("set CONFERO_TEST_DATABASE_URL to test PostgreSQL")
    name = f"bounds_{secrets.token_hex(6)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield Settings(data_dir=tmp_path / "var", http_port=8080, database_url=url)
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


async def test_before_past_int64_is_a_request_problem_not_a_500(
    client: httpx.AsyncClient, admin: User
) -> None:
    created = await client.post("/api/v1/rooms", json={"name": "Bounds"}, headers=admin.headers)
    room_id = created.json()["id"]
    await client.post(f"/api/v1/rooms/{room_id}/chat", json={"text": "hi"}, headers=admin.headers)
    for path in ("chat", "activity"):
        url = f"/api/v1/rooms/{room_id}/{path}"
        for value in (*map(str, OVERS), "-" + str(2**63)):
            response = await client.get(url, params={"before": value}, headers=admin.headers)
            body = assert_problem(response, 422, "request.invalid")
            assert ["query", "before"] in [e["loc"] for e in body["errors"]]
        at_top = await client.get(url, params={"before": str(TOP)}, headers=admin.headers)
        assert at_top.status_code == 200, at_top.text
    chat = await client.get(
        f"/api/v1/rooms/{room_id}/chat", params={"before": str(TOP)}, headers=admin.headers
    )
    assert [m["text"] for m in chat.json()["messages"]] == ["hi"]


def test_the_sockets_chat_history_is_bounded_too() -> None:
    bad = f'{{"v":1,"type":"chat_history","before":{2**31},"ref":"h"}}'
    try:
        signaling.parse(bad)
    except signaling.BadMessage as refused:
        assert refused.code == "signaling.invalid" and refused.ref == "h"
    else:
        raise AssertionError("chat_history with before=2**63 was accepted")
    top = signaling.parse(f'{{"v":1,"type":"chat_history","before":{TOP}}}')
    assert isinstance(top, signaling.ChatHistory) and top.before == TOP
