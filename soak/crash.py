"""``kill -9`` during writes (issue 14): whatever the server acknowledged is there after
a restart, and whatever it acknowledged deleting stays gone.

Each round starts ``confero serve`` (SQLite, the default), lets writers run over the
REST API (per account: book a reservation, delete the oldest once three are active,
the booking limit; post chat messages to its room, as fast as the chat limit lets one
address), kills the process with SIGKILL at a random moment, starts it again on the same
data and checks every acknowledged write from every round so far. A write in flight
when the process died has no answer: it may or may not have landed, and either is
right; it is counted, not checked. The clock of the bookings is the real one (the
server's rules want a start at least 10 minutes ahead).
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from soak.server import PASSWORD, Server

ACCOUNTS = 4
ACTIVE_BOOKINGS = 3  # domain/reservations.py MAX_ACTIVE


@dataclass
class Ledger:
    """What the server acknowledged, and what had no answer because it died."""

    booked: dict[str, str] = field(default_factory=dict)  # id -> title
    deleted: set[str] = field(default_factory=set)
    chat: dict[str, set[str]] = field(default_factory=dict)  # room id -> texts
    in_flight: int = 0
    refused: int = 0


@dataclass
class Writer:
    """One account's loop of bookings and chat until its server stops answering; its
    ledger is its own (one thread writes it)."""

    base: str
    token: str
    room_id: str
    ledger: Ledger
    n: int
    active: list[str] = field(default_factory=list)

    def client(self, timeout: float = 10) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=timeout)

    def run(self, stop: threading.Event) -> None:
        with self.client() as web:
            step = 0
            while not stop.is_set():
                step += 1
                try:
                    if step % 3 == 0:
                        self.chat(web)
                    elif len(self.active) >= ACTIVE_BOOKINGS:
                        self.delete(web)
                    else:
                        self.book(web)
                except httpx.TransportError:
                    self.ledger.in_flight += 1
                    return

    def book(self, web: httpx.Client) -> None:
        # a slot of its own per booking: a day apart, so no two overlap in any room
        start = datetime.now(UTC) + timedelta(days=1 + self.n, minutes=30)
        title = f"soak {uuid.uuid4().hex[:12]}"
        body = {
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
            "title": title,
            "notify_email": False,
        }
        answer = web.post("/api/v1/reservations", json=body)
        if answer.status_code == 201:
            rid = answer.json()["id"]
            self.active.append(rid)
            self.ledger.booked[rid] = title
        else:
            self._refused(answer)

    def delete(self, web: httpx.Client) -> None:
        rid = self.active[0]
        answer = web.delete(f"/api/v1/reservations/{rid}")
        if answer.status_code == 204:
            self.active.pop(0)
            self.ledger.deleted.add(rid)
        else:
            self._refused(answer)

    def chat(self, web: httpx.Client) -> None:
        text = f"soak {uuid.uuid4().hex}"
        answer = web.post(f"/api/v1/rooms/{self.room_id}/chat", json={"text": text})
        if answer.status_code == 201:
            self.ledger.chat.setdefault(self.room_id, set()).add(text)
        elif answer.status_code == 429:
            time.sleep(0.05)  # the chat limit: not a failure
        else:
            self._refused(answer)

    def _refused(self, answer: httpx.Response) -> None:
        self.ledger.refused += 1
        if answer.status_code >= 500:
            raise RuntimeError(f"{answer.status_code}: {answer.text}")


@dataclass
class CrashResult:
    rounds: int
    booked: int
    deleted: int
    chat: int
    in_flight: int
    refused: int
    lost: list[str]
    restart_seconds: list[float]
    tracebacks: int

    @property
    def passed(self) -> bool:
        return not self.lost and self.booked > 0 and self.chat > 0 and self.tracebacks == 0

    def report(self) -> str:
        ok = "PASS" if self.passed else "FAIL"
        worst = max(self.restart_seconds, default=0.0)
        lines = [
            f"## kill -9 during booking and chat: {ok}",
            "",
            "| figure | value |",
            "|---|---|",
            f"| rounds (SIGKILL, restart, check everything so far) | {self.rounds} |",
            f"| acknowledged bookings / deletions / chat messages | {self.booked} / "
            f"{self.deleted} / {self.chat} |",
            f"| writes in flight at the kill (no answer: either outcome is right) | "
            f"{self.in_flight} |",
            f"| acknowledged writes lost | {len(self.lost)} |",
            f"| refused (not 2xx, not 429) | {self.refused} |",
            f"| restart to healthy, worst | {worst:.1f} s |",
            f"| tracebacks in the server log | {self.tracebacks} |",
        ]
        lines += [f"| lost | {what} |" for what in self.lost[:10]]
        return "\n".join(lines)


def check(web: httpx.Client, ledger: Ledger) -> list[str]:
    """Every acknowledged write, read back after the restart."""
    lost: list[str] = []
    for rid, title in ledger.booked.items():
        answer = web.get(f"/api/v1/reservations/{rid}")
        if rid in ledger.deleted:
            if answer.status_code != 404:
                lost.append(f"deleted reservation {rid} is back ({answer.status_code})")
        elif answer.status_code != 200 or answer.json().get("title") != title:
            lost.append(f"reservation {rid} {title!r}: {answer.status_code}")
    for room_id, texts in ledger.chat.items():
        seen: set[str] = set()
        before: int | None = None
        while True:
            params: dict[str, int] = {"limit": 200}
            if before is not None:
                params["before"] = before
            page = web.get(f"/api/v1/rooms/{room_id}/chat", params=params).json()
            seen.update(m["text"] for m in page["messages"])
            before = page["next_before"]
            if before is None:
                break
        lost += [f"chat message {t!r} in room {room_id}" for t in sorted(texts - seen)]
    return lost


def run(workdir: Path, *, rounds: int = 5, seed: int | None = None) -> CrashResult:
    rng = random.Random(seed)
    server = Server(workdir / "server")
    emails = [f"writer{i}@confero.test" for i in range(ACCOUNTS)]
    rooms = []
    for email in emails:
        server.create_owner(email)
        rooms.append(server.create_room(email, f"Chat of {email}", 10))
    restarts: list[float] = []
    lost: list[str] = []
    started = time.monotonic()
    server.start()
    restarts.append(time.monotonic() - started)
    writers = []
    for i, email in enumerate(emails):
        answer = httpx.post(
            f"{server.base}/api/v1/tokens", json={"email": email, "password": PASSWORD}
        )
        answer.raise_for_status()
        writers.append(Writer(server.base, answer.json()["token"], rooms[i].id, Ledger(), i))
    done = 0
    try:
        for _ in range(rounds):
            stop = threading.Event()
            threads = [threading.Thread(target=w.run, args=(stop,)) for w in writers]
            for thread in threads:
                thread.start()
            time.sleep(rng.uniform(2.0, 6.0))
            server.kill()
            stop.set()
            for thread in threads:
                thread.join(30)
            started = time.monotonic()
            server.start()
            restarts.append(time.monotonic() - started)
            done += 1
            for writer in writers:
                with writer.client(timeout=30) as web:
                    lost += check(web, writer.ledger)
                    # a booking or deletion without an answer may or may not have
                    # landed: the server's list is the truth for the next round
                    listed = web.get("/api/v1/reservations")
                    listed.raise_for_status()
                    writer.active = [
                        r["id"] for r in listed.json() if r["id"] not in writer.ledger.deleted
                    ]
            if lost:
                break
    finally:
        server.stop()
    ledgers = [w.ledger for w in writers]
    return CrashResult(
        rounds=done,
        booked=sum(len(x.booked) for x in ledgers),
        deleted=sum(len(x.deleted) for x in ledgers),
        chat=sum(len(t) for x in ledgers for t in x.chat.values()),
        in_flight=sum(x.in_flight for x in ledgers),
        refused=sum(x.refused for x in ledgers),
        lost=lost,
        restart_seconds=restarts,
        tracebacks=server.tracebacks(),
    )
