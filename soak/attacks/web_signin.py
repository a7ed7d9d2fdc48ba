"""Sign-in guessing (issue 14: 6 wrong passwords locked the account for everyone for 10
minutes; a forged ``X-Forwarded-For`` escaped the per-address limit): wrong passwords from
rotating addresses, then the owner from an address of their own; five failures from one
address, then more behind fresh forged headers."""

from __future__ import annotations

import asyncio
import time
import uuid

from soak.attacks.web_client import OWNER, client
from soak.findings import Finding, Severity
from soak.server import PASSWORD, Server


async def sign_in(
    server: Server, source: str, email: str, password: str, forwarded: str | None = None
) -> tuple[int, int]:
    """One POST /api/v1/session: (status, Retry-After or 0)."""
    headers = {"X-Forwarded-For": forwarded} if forwarded else None
    async with client(server, source) as http:
        got = await http.post(
            "/api/v1/session", json={"email": email, "password": password}, headers=headers
        )
    return got.status_code, int(got.headers.get("retry-after", "0") or 0)


async def signin_attack(server: Server) -> Finding:
    # Wrong passwords for the owner from rotating addresses until seven were looked at
    # (each address may fail five times; the account's back-off is waited out).
    wrong, statuses, waited = 0, [], 0.0
    sources = iter(f"127.0.0.{n}" for n in range(10, 40))
    source = next(sources)
    per_source = 0
    while wrong < 7:
        status, retry = await sign_in(server, source, OWNER, "wrong-" + uuid.uuid4().hex)
        statuses.append(status)
        if status == 401:
            wrong += 1
            per_source += 1
            if per_source == 5:
                source, per_source = next(sources), 0
        elif status == 429:
            if per_source >= 5:
                source, per_source = next(sources), 0
            waited += retry
            await asyncio.sleep(max(retry, 0.2))
        else:
            break
    last_wrong = time.monotonic()
    # The owner, from an address of their own, with the right password.
    tries, owner_status, refusals = 0, 0, []
    while time.monotonic() - last_wrong < 120:
        tries += 1
        owner_status, retry = await sign_in(server, "127.0.0.2", OWNER, PASSWORD)
        if owner_status != 429:
            break
        refusals.append(retry)
        await asyncio.sleep(max(retry, 0.2))
    owner_delay = time.monotonic() - last_wrong
    # A forged X-Forwarded-For from 127.0.0.3: five failures (other emails each time, so
    # only the address counts), then more with a fresh forged address each.
    forged_source = "127.0.0.3"
    first = [
        (await sign_in(server, forged_source, f"x{i}@soak.example", "nope"))[0] for i in range(5)
    ]
    forged = [
        (await sign_in(server, forged_source, f"y{i}@soak.example", "nope", f"203.0.113.{i}"))[0]
        for i in range(1, 6)
    ]
    forged_ok = await sign_in(server, forged_source, OWNER, PASSWORD, "198.51.100.7")
    elsewhere = await sign_in(server, "127.0.0.4", OWNER, PASSWORD)
    owner_in = owner_status == 200
    forged_held = all(s == 429 for s in forged) and forged_ok[0] == 429
    severity: Severity = "none" if owner_in and forged_held and owner_delay < 65 else "medium"
    if owner_in and forged_held and owner_delay >= 65:
        severity = "low"
    now = (
        f"{wrong} wrong passwords for the owner from rotating addresses (answers "
        f"{','.join(map(str, statuses))}; back-off waited {waited:.0f} s); then the owner from "
        f"another address: {owner_status} after {tries} tries, {owner_delay:.1f} s after the "
        f"last wrong one (refused meanwhile with Retry-After {refusals or 'none'}), no "
        f"lock-out; forged X-Forwarded-For from one address: 5 failures "
        f"{','.join(map(str, first))}, then 5 with fresh forged addresses "
        f"{','.join(map(str, forged))} and even the right password {forged_ok[0]} "
        f"(Retry-After {forged_ok[1]} s: by design the whole address waits, a shared NAT too); "
        f"the same account from another address: "
        f"{elsewhere[0]}"
    )
    return Finding(
        "sign-in",
        "6 wrong passwords lock the account for 10 minutes for everyone; a forged "
        "X-Forwarded-For from 127.0.0.1 escapes the per-address limit",
        now,
        severity,
    )
