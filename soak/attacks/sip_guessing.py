"""Issue 14's guessing attacks, rerun.

PIN guessing on the room's own number from 127.0.0.2, a new From per call, up to 3 wrong
PINs per call; the attacker redials when the server makes it wait more than 4.5 s (the
delays grow per call, so redialling is its best move). Keys are typed once a prompt has
ended (no barge-in), so the next speech times the server's delay after a wrong PIN.
After every guess the owner's REST view says whether the room is locked: the number of
wrong guesses evaluated before the lock. Then the right PIN from a fresh From on
127.0.0.1 (refused while locked, by design), the owner's DELETE of the lock-out, and the
right PIN again (must reach the room).

Conference-number oracle on the shared access number: a wrong number and the room's
number with wrong PINs, dialled at once from two addresses with the same script (each
key typed once the prompt before has been said); compared: the delay from each key to
the next prompt, the speech received and the time until the server's BYE.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

from soak.attacks.sip_client import Call
from soak.attacks.sip_room import (
    ACCESS_NUMBER,
    Owner,
    enter,
    in_thread,
    make_server,
    wrong_pins,
)
from soak.findings import Finding
from soak.server import Server


async def attack_pins(workdir: Path) -> list[Finding]:
    server, room = await in_thread(lambda: make_server(workdir, "pins"))
    owner = Owner(server)
    target = ("127.0.0.1", server.sip_port)
    calls: list[Call] = []
    delays: list[str] = []
    guesses = 0
    locked_after: int | None = None
    n_calls = 0
    started = time.monotonic()
    pins = iter(wrong_pins(room, 40))
    try:
        await owner.sign_in()
        while guesses < 20 and locked_after is None:
            n_calls += 1
            call = await Call("127.0.0.2", target, room.number, f"+4930{n_calls:07d}").open()
            calls.append(call)
            answer = await call.invite()
            if answer is None or answer.status != 200:
                delays.append(f"call {n_calls}: {answer.status if answer else 'no answer'}")
                break
            call.ack()
            if not await call.quiet(time.monotonic()):  # "enter the PIN" said, then silence
                delays.append(f"call {n_calls}: no PIN prompt")
                await call.hangup()
                break
            for g in range(3):
                sent = await call.keys(next(pins) + "#")
                guesses += 1
                # the next prompt ("wrong PIN") comes after the delay: the guess is judged
                heard = await call.prompt_after(sent, 4.5)
                if await owner.locked(room):
                    locked_after = guesses
                    break
                if heard is None:
                    delays.append(">4.5 (redial)" if call.bye_from_server() is None else "BYE")
                    break
                if g == 2:
                    break  # the third: "wrong PIN, too many attempts, goodbye", no delay
                delays.append(f"{heard - sent:.1f}")
                if not await call.quiet(heard):
                    break
            await call.hangup()
        guess_time = time.monotonic() - started
        # a guess from the guessing source once locked: refused at once
        late = await Call("127.0.0.2", target, room.number, "+4939999999").open()
        calls.append(late)
        late_answer = await late.invite()
        late_result = "no answer"
        if late_answer is not None and late_answer.status == 200:
            late.ack()
            await late.quiet(time.monotonic())
            sent = await late.keys(next(pins) + "#")
            bye = await late.sip.wait(late.bye_from_server, 10)
            late_result = f"server BYE after {bye - sent:.1f} s" if bye else "no BYE in 10 s"
            await late.hangup()
        # the right PIN from a fresh From on another source: refused while locked
        locked_try, c1 = await enter(server, room, owner, "127.0.0.1", "+4931000001", wait=12)
        calls.append(c1)
        await c1.hangup()
        lift = await owner.http.delete(f"/api/v1/rooms/{room.id}/pin-lockout")
        still_locked = await owner.locked(room)
        await asyncio.sleep(0.5)
        lifted_try, c2 = await enter(server, room, owner, "127.0.0.1", "+4931000002")
        calls.append(c2)
        await c2.hangup()
    finally:
        for c in calls:
            c.close()
        await owner.close()
        await in_thread(server.stop)

    now = (
        f"{guesses} wrong PINs in {n_calls} calls ({guess_time:.0f} s), 3 a call, a new From "
        f"each, from 127.0.0.2: room locked after wrong guess {locked_after} (limits 5/caller, "
        f"10/source, 10/room in 10 min; a room lock is 15 min); delays (s) from a wrong PIN "
        f"to the next prompt: {', '.join(delays)}; a guess after the lock: {late_result}; "
        f"right PIN from a fresh From on 127.0.0.1 while locked: {locked_try} (the documented "
        f"trade-off: 10 wrong guesses per 15 min, from anywhere, keep a room's dial-in shut "
        f"until its owner lifts it; the delays bind only within a call, a redial pays none, "
        f"the lock-out is what stops guessing); owner's DELETE .../pin-lockout: "
        f"{lift.status_code}, locked after it: "
        f"{still_locked}; right PIN then: {lifted_try}"
    )
    ok = (
        locked_after is not None
        and locked_after <= 10
        and locked_try != "in"
        and lift.status_code == 200
        and lifted_try == "in"
    )
    return [
        Finding(
            "SIP: PIN guessing, 3 guesses per call, a new From per call",
            "limit per From only: 22 wrong guesses from 7 From numbers, then the right PIN got "
            "in; a legitimate caller whose From was blocked could not enter",
            now,
            "low" if ok else "high",
        )
    ]


@dataclass
class Script:
    steps: list[float]
    speech_packets: int
    packets: int
    duration: float | None
    bye_headers: list[str]


async def scripted(server: Server, host: str, caller: str, keys: list[str]) -> Script:
    """Dial the access number and type each of ``keys`` once the prompt before has been
    said; steps: from the ACK, then from each key, to the next prompt."""
    call = await Call(host, ("127.0.0.1", server.sip_port), ACCESS_NUMBER, caller).open()
    try:
        answer = await call.invite()
        if answer is None or answer.status != 200:
            return Script([], 0, 0, None, [f"answer {answer.status if answer else None}"])
        call.ack()
        acked = time.monotonic()
        since = acked
        steps: list[float] = []
        for k in [*keys, ""]:
            heard = await call.prompt_after(since, 15)
            if heard is None:
                break
            steps.append(heard - since)
            if not k or not await call.quiet(heard):
                break
            since = await call.keys(k)
        bye = await call.sip.wait(call.bye_from_server, 40)
        await asyncio.sleep(0.2)
        byes = [m for _, m in call.sip.messages if m.status is None and m.method == "BYE"]
        return Script(
            steps,
            sum(p.speech for p in call.rtp.packets),
            len(call.rtp.packets),
            bye - acked if bye else None,
            sorted(byes[0].headers) if byes else [],
        )
    finally:
        await call.hangup()
        call.close()


async def attack_oracle(workdir: Path) -> list[Finding]:
    server, room = await in_thread(
        lambda: make_server(workdir, "oracle", {"CONFERO_ACCESS_NUMBER": ACCESS_NUMBER})
    )
    try:
        wrong_number = f"{(int(room.number) + 123457) % 1_000_000:06d}"
        pins = wrong_pins(room, 3)
        a, b = await asyncio.gather(
            scripted(
                server,
                "127.0.0.4",
                "+4930800001",
                ["1", wrong_number + "#", *(p + "#" for p in pins)],
            ),
            scripted(
                server,
                "127.0.0.5",
                "+4930800002",
                ["1", room.number + "#", *(p + "#" for p in pins)],
            ),
        )
    finally:
        await in_thread(server.stop)

    def show(s: Script) -> str:
        steps = "/".join(f"{x:.2f}" for x in s.steps)
        dur = f"{s.duration:.2f} s" if s.duration is not None else "no BYE"
        return (
            f"BYE after {dur}, {s.speech_packets} speech packets of {s.packets}, "
            f"key->prompt {steps} s"
        )

    same_shape = len(a.steps) == len(b.steps) and a.bye_headers == b.bye_headers
    jitter = 0.5
    dt = abs((a.duration or 0) - (b.duration or 0)) if a.duration and b.duration else 99.0
    dsteps = max((abs(x - y) for x, y in zip(a.steps, b.steps, strict=False)), default=99.0)
    dspeech = abs(a.speech_packets - b.speech_packets) / max(1, b.speech_packets)
    same = same_shape and dt < jitter and dsteps < jitter and dspeech < 0.05
    now = (
        f"wrong number: {show(a)}; right number + wrong PINs: {show(b)}; "
        f"difference {dt:.2f} s total, {dsteps:.2f} s at most per step, "
        f"{100 * dspeech:.1f} % of speech: "
        + ("indistinguishable within jitter" if same else "DISTINGUISHABLE")
    )
    return [
        Finding(
            "SIP: conference-number guessing on the access number",
            "a wrong number hung up after 4.4 s, a right one kept at the PIN prompt: an "
            "oracle with no limit",
            now,
            "none" if same else "medium",
        )
    ]
