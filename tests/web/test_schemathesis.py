"""Schemathesis against the app's own OpenAPI (issue 14, Deliver 4): no input that the
schema lets a client send, nor the malformed neighbours schemathesis derives from it,
may get a 500.

``before=9223372036854775808`` on the chat was such a 500 (integer overflow). The app is
served by uvicorn as ``confero serve`` runs it (``server.http_config``) in a thread of
its own, and schemathesis speaks real HTTP to it with an administrator's bearer token,
on a real room (path parameters named ``room_id`` point at it, except the one operation
that deletes it), so generated bodies and queries reach the code behind authentication.
The example count per operation is bounded (deterministic, well under a minute in all);
only server errors are failures here: response-schema conformance is another matter.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok

from confero.config import Settings
from confero.server import build, http_config
from confero.web.app import create_app

EXAMPLES = 15
EMAIL, PASSWORD = "ada@example.org", "correct horse battery staple"


@dataclass
class Api:
    base_url: str
    headers: dict[str, str]
    room_id: str
    statuses: list[int] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    cfg = Settings(
        data_dir=tmp_path_factory.mktemp("schemathesis") / "var",
        http_port=_free_port(),
        log_level="critical",
    )
    holder: dict[str, Any] = {}
    ready = threading.Event()

    async def main() -> None:
        services = await build(cfg)
        await services.accounts.create(EMAIL, PASSWORD, "Ada Admin", is_admin=True)
        config = http_config(create_app(services, max_body=cfg.max_body_kb * 1024), cfg)
        config.lifespan = "off"
        server = holder["server"] = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve())
        for _ in range(1500):
            if server.started or serving.done():
                break
            await asyncio.sleep(0.02)
        ready.set()
        try:
            await serving
        finally:
            await services.close()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert ready.wait(30), "the server did not start"
    base = f"http://127.0.0.1:{cfg.http_port}"
    try:
        token = httpx.post(f"{base}/api/v1/tokens", json={"email": EMAIL, "password": PASSWORD})
        assert token.status_code == 201, token.text
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        room = httpx.post(f"{base}/api/v1/rooms", json={"name": "Fuzzed"}, headers=headers)
        assert room.status_code == 201, room.text
        yield Api(base, headers, room.json()["id"])
    finally:
        holder["server"].should_exit = True
        thread.join(15)


def fuzz(api: Api, operation: Any, mode: GenerationMode) -> None:
    """Up to ``EXAMPLES`` cases of one operation; raises on the first 500 (shrunk)."""
    names = {p.name for p in operation.path_parameters}
    deletes_room = (
        operation.method.upper() == "DELETE" and operation.path == "/api/v1/rooms/{room_id}"
    )
    fixed = {"room_id": api.room_id} if "room_id" in names and not deletes_room else None

    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call_and_validate(
            base_url=api.base_url, headers=api.headers, checks=[not_a_server_error], timeout=10
        )
        api.statuses.append(response.status_code)

    run()


def test_no_input_gets_a_500(api: Api) -> None:
    schema = schemathesis.openapi.from_url(f"{api.base_url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()
        operations.append(result.ok())
    # Signing out ends the token the other operations use: it goes last.
    operations.sort(key=lambda op: (op.method.upper(), op.path) == ("DELETE", "/api/v1/session"))
    assert len(operations) > 40  # the whole REST API, not an empty schema
    failures: list[str] = []
    for operation in operations:
        modes = [GenerationMode.POSITIVE]
        if len(operation.query) or len(operation.body):
            modes.append(GenerationMode.NEGATIVE)  # malformed queries and bodies
        for mode in modes:
            try:
                fuzz(api, operation, mode)
            except Unsatisfiable:
                pass  # nothing of this operation's can be malformed that way
            except Exception as failure:  # collect them all, then report
                failures.append(f"{operation.label} ({mode.value}): {failure}")
    assert not failures, "\n\n".join(failures)
    # It reached the code behind authentication, and refused what was malformed.
    assert len(api.statuses) > 300
    assert sum(200 <= s < 300 for s in api.statuses) > 30
    assert sum(s == 422 for s in api.statuses) > 30
