"""Issue 18 end to end: a real ``confero serve`` (metrics on their own listener, JSON
logs) with a sipp caller and a Chromium guest in one room.

Proves: the participant gauges read one phone and one browser while both are in, the
media tick histogram has counts, a caller's wrong PIN increments the PIN-failure
counter (all parsed with ``prometheus_client.parser``); every line the server logged is
a JSON object and one carries the sipp call's Call-ID; and none of the secrets the run
used (the room's PIN and admin PIN, the bearer token, the invite token, the admin's
password) is anywhere in that log, the access log of the invite page and its socket
included.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import scenarios
from tests.e2e.chromium import Launch
from tests.e2e.pcap import Stream
from tests.e2e.sipp import Sipp, free_port, free_udp_port, sipp_available
from tests.phone.support import eventually


@dataclass
class Node:
    base: str
    metrics_url: str
    sip_port: int
    process: subprocess.Popen[bytes]
    log: Path
    stdout: Path


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    """``confero serve`` as an operator runs it with metrics on 127.0.0.1 and JSON logs."""
    if not sipp_available():
        pytest.skip("sipp is not installed (scripts/system-deps.sh test)")
    http, sip, metrics = free_port(), free_udp_port(tcp=True), free_port()
    env = {
        **os.environ,
        "CONFERO_DATA_DIR": str(tmp_path / "var"),
        "CONFERO_DATABASE_URL": "",
        "CONFERO_HTTP_PORT": str(http),
        "CONFERO_SIP_HOST": "127.0.0.1",
        "CONFERO_SIP_PORT": str(sip),
        "CONFERO_METRICS_PORT": str(metrics),
        "CONFERO_LOG_FORMAT": "json",
    }
    log, stdout = tmp_path / "server.log", tmp_path / "stdout.log"
    with log.open("wb") as err, stdout.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "confero.cli", "serve"], env=env, stdout=out, stderr=err
        )
    base = f"http://127.0.0.1:{http}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/api/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "not ready: " + log.read_text()
            time.sleep(0.2)
        yield Node(base, f"http://127.0.0.1:{metrics}/metrics", sip, process, log, stdout)
    finally:
        if process.poll() is None:
            process.terminate()
            process.wait(timeout=15)


def scrape(node: Node) -> dict[str, float]:
    """Every sample of the node's ``/metrics`` by name and labels, as the parser reads it."""
    text = httpx.get(node.metrics_url, timeout=5).text
    samples: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            samples[f"{s.name}{{{labels}}}"] = s.value
    return samples


def call_ids(sipp: Sipp) -> set[str]:
    return set(re.findall(r"^Call-ID:\s*(\S+)", sipp.messages, re.MULTILINE))


async def test_metrics_logs_and_no_secrets_with_a_caller_and_a_guest(
    node: Node, chromium: Launch, tmp_path: Path
) -> None:
    password = re.search(r"password:\s+(\S+)", node.stdout.read_text())
    assert password, node.stdout.read_text()
    async with httpx.AsyncClient(base_url=node.base) as web:
        issued = await web.post(
            "/api/v1/tokens",
            json={"email": "admin@confero.local", "password": password.group(1)},
        )
        assert issued.status_code == 201, issued.text
        token = issued.json()["token"]
        made = await web.post(
            "/api/v1/rooms",
            json={"name": "Observed"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert made.status_code == 201, made.text
    room = made.json()
    invite_token = room["invite_url"].rstrip("/").rsplit("/", 1)[1]

    before = scrape(node)
    assert before["confero_participants{channel=phone}"] == 0
    assert before["confero_pin_failures_total{}"] == 0

    page = await chromium(room["invite_url"])
    await page.wait_for_selector("#join:not([disabled])")
    await page.fill("#name", "Guest")
    await page.click("#join")
    await page.wait_for_selector("#meeting", state="visible")

    keys = f"1{room['conference_number']}#{room['pin']}##"
    stream = Stream().silence(0.5).digits(keys, duration=0.1, gap=0.08).silence(9)
    caller = Sipp(
        scenarios.dial(stream.write(tmp_path / "caller.pcap"), hold_seconds=0.5),
        ("127.0.0.1", node.sip_port),
        service="5000",
        workdir=tmp_path / "sipp-caller",
    )
    wrong = next(p for p in ("000000", "111111", "222222") if p not in room.values())
    guess = Stream().silence(0.5).digits(f"1{room['conference_number']}#{wrong}#", duration=0.1)
    guesser = Sipp(
        scenarios.dial(guess.silence(2.5).write(tmp_path / "guess.pcap"), hold_seconds=0.2),
        ("127.0.0.1", node.sip_port),
        service="5000",
        workdir=tmp_path / "sipp-guesser",
    )
    async with caller:

        def both_in() -> bool:
            now = scrape(node)
            phone = now["confero_participants{channel=phone}"]
            return phone == 1 and now["confero_participants{channel=browser}"] == 1

        await eventually(both_in, 25)
        during = scrape(node)
        assert during["confero_conferences_live{}"] == 1
        assert during["confero_media_tick_duration_seconds_count{}"] > 0
        assert during["confero_media_tick_lateness_seconds_count{}"] > 0
        assert during["confero_websockets_open{socket=room}"] >= 1
        assert during["confero_calls_admitted_total{}"] == 1
        # the guest's microphone as we receive it, sampled every 5 s (webrtc/reception.py)
        browser_loss = "confero_media_leg_receive_loss_ratio_count{channel=browser}"
        await eventually(lambda: scrape(node)[browser_loss] >= 1, 15)
        async with guesser:
            await eventually(lambda: scrape(node)["confero_pin_failures_total{}"] >= 1, 15)
            assert await guesser.wait(30) == 0, guesser.report()
        assert await caller.wait(30) == 0, caller.report()
    after = scrape(node)
    assert after["confero_pin_failures_total{}"] == 1
    assert (
        after[
            "confero_http_request_duration_seconds_count{method=POST,route=/api/v1/rooms,status=201}"
        ]
        == 1
    )
    await page.close()

    node.process.terminate()
    node.process.wait(timeout=15)
    text = node.log.read_text()
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "the server logged nothing"
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    (sipp_call,) = call_ids(caller)
    assert any(e.get("call_id") == sipp_call for e in entries), sipp_call
    assert any(e.get("request_id") for e in entries)

    secrets = {
        "PIN": room["pin"],
        "admin PIN": room["admin_pin"],
        "bearer token": token,
        "invite token": invite_token,
        "password": password.group(1),
    }
    for what, secret in secrets.items():
        assert not re.search(rf"(?<![0-9A-Za-z]){re.escape(secret)}(?![0-9A-Za-z])", text), what
