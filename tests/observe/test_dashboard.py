"""deploy/grafana/confero.json and docs/OPERATIONS.md (issue 18) name only metrics the
node exposes, and the dashboard shows every one of them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.observe.test_metrics import EXPECTED

ROOT = Path(__file__).resolve().parents[2]
SUFFIXES = ("_total", "_bucket", "_count", "_sum")


def base(name: str) -> str:
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def test_the_dashboard_queries_every_metric_and_no_other() -> None:
    dashboard = json.loads((ROOT / "deploy/grafana/confero.json").read_text())
    assert dashboard["templating"]["list"][0]["type"] == "datasource"
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", ()) if "expr" in t]
    named = {base(n) for e in exprs for n in re.findall(r"confero_[a-z_]+", e)}
    assert named == set(EXPECTED)
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))


def test_the_operations_guide_names_only_real_metrics() -> None:
    text = (ROOT / "docs/OPERATIONS.md").read_text()
    named = {base(n) for n in re.findall(r"confero_[a-z_]+", text)}
    assert named <= set(EXPECTED), named - set(EXPECTED)
    assert {"confero_media_tick_lateness_seconds", "confero_calls_refused"} <= named
