"""How long "mute all" holds a conference's actor (issue 10, Measure).

50 participants join one room through ``ConferenceService`` on the SQLite store; then a
moderator's ``mute_all`` / ``unmute_all`` is timed from the moment it is put on the
actor's queue to its answer. That is the time the actor is busy with it: every other
keypress, button or REST call of the room waits behind it. With the outbox the answer
must not depend on the database; the time until the room's durable consumers (activity
log, room state) have written the events is reported beside it.

Usage: python -m bench.mute_all [PARTICIPANTS] [ROUNDS]
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from confero.config import Settings
from confero.domain import commands as c
from confero.domain.roles import Role
from confero.server import build


async def main(participants: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "var", max_capacity=participants + 1)
        services = await build(settings)
        try:
            host = await services.accounts.create("host@example.org", "long-secret", "Host")
            room = await services.rooms.create(host, "Bench", capacity=participants + 1)
            moderator, _ = await services.conferences.join(
                room, display_name="Host", role=Role.MODERATOR, channel="api", identity="host"
            )
            for i in range(participants):
                await services.conferences.join(
                    room,
                    display_name=f"P{i}",
                    role=Role.PARTICIPANT,
                    channel="phone",
                    identity=f"p{i}",
                )
            drain = getattr(services.bus, "drain", None)
            if drain is not None:
                await drain(room.id)
            actor = services.registry.get(room.id)
            assert actor is not None
            held: list[float] = []
            persisted: list[float] = []
            for _ in range(rounds):
                for command in (c.MuteAll(by=moderator), c.UnmuteAll(by=moderator)):
                    start = time.perf_counter()
                    await actor.send(command)
                    held.append(time.perf_counter() - start)
                    if drain is not None:
                        await drain(room.id)
                    persisted.append(time.perf_counter() - start)
            print(
                f"{participants} participants, {len(held)} commands: actor held "
                f"median {statistics.median(held) * 1000:.2f} ms, "
                f"max {max(held) * 1000:.2f} ms; events persisted after "
                f"median {statistics.median(persisted) * 1000:.2f} ms"
            )
        finally:
            await services.close()


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    times = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    asyncio.run(main(count, times))
