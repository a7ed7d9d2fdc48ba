"""The attacks of issue 14's table, rerun against a real ``confero serve`` each: the SIP
rows (``soak.attacks.sip``) and the HTTP and WebSocket rows (``soak.attacks.web``).
"Done when": nothing above low."""

from __future__ import annotations

from pathlib import Path

from soak.findings import Finding, table

__all__ = ["run", "table"]


def run(workdir: Path) -> list[Finding]:
    """SIP then web, each part under its own directory of ``workdir``."""
    from soak.attacks import sip, web

    return [*sip.run(workdir / "sip"), *web.run(workdir / "web")]
