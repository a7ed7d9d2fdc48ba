"""Issue 14's SIP rows, rerun against a real ``confero serve`` each (default settings;
only ``CONFERO_ACCESS_NUMBER`` where the access number is attacked).

The flood runs alone while its CPU and latency figures are taken (about 10 s); then the
reflection, PIN guessing and number oracle run on three more servers while the flood's
server goes idle and is flooded from two and from twelve addresses (those figures are
counts and relative timings, which other load does not skew). About 2 minutes in all.
An attack that could not be run is reported as such ("medium": not shown to hold).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from soak.attacks.sip_flood import attack_flood
from soak.attacks.sip_guessing import attack_oracle, attack_pins
from soak.attacks.sip_reflection import attack_reflection
from soak.findings import Finding


async def _guarded(
    name: str, attack: Callable[[Path], Coroutine[Any, Any, list[Finding]]], workdir: Path
) -> list[Finding]:
    try:
        return await attack(workdir)
    except Exception as exc:  # a measurement that could not be made is reported as such
        return [Finding(name, "-", f"the rerun failed: {type(exc).__name__}: {exc}", "medium")]


async def _run(workdir: Path) -> list[Finding]:
    measured = asyncio.Event()

    async def flooding(w: Path) -> list[Finding]:
        try:
            return await attack_flood(w, measured)
        finally:
            measured.set()

    first = asyncio.create_task(_guarded("SIP: INVITE flood", flooding, workdir))
    await measured.wait()  # the flood's CPU and latency figures are taken: the rest may run
    rest = await asyncio.gather(
        _guarded("SIP: reflection", attack_reflection, workdir),
        _guarded("SIP: PIN guessing", attack_pins, workdir),
        _guarded("SIP: conference-number oracle", attack_oracle, workdir),
    )
    out = await first
    for part in rest:
        out += part
    return out


def run(workdir: Path) -> list[Finding]:
    """Issue 14's SIP rows, each against a server of its own under ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    return asyncio.run(_run(workdir))
