"""What one rerun attack found (issue 14's table, "Done when": nothing above low)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["none", "low", "medium", "high"]
SEVERITIES: tuple[Severity, ...] = ("none", "low", "medium", "high")


@dataclass(frozen=True)
class Finding:
    """``before``: the issue's row; ``now``: what this run measured, with its figures."""

    attack: str
    before: str
    now: str
    severity: Severity

    def __post_init__(self) -> None:
        assert self.severity in SEVERITIES, self.severity

    @property
    def acceptable(self) -> bool:
        return SEVERITIES.index(self.severity) <= SEVERITIES.index("low")


def table(findings: list[Finding]) -> str:
    """The findings as the Markdown table docs/RELIABILITY.md carries."""
    rows = ["| attack | before (issue 14) | now | severity |", "|---|---|---|---|"]
    for f in findings:
        cells = (f.attack, f.before, f.now, f.severity)
        rows.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(rows)
