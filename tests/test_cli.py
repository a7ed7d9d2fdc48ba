"""The `confero` command as an operator uses it, on a real SQLite file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from confero.cli import app


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("CONFERO_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("CONFERO_DATABASE_URL", raising=False)
    return CliRunner()


def test_upgrade_admin_room_and_reservation_listing(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "var" / "confero.db").exists()

    result = runner.invoke(
        app, ["admin", "create", "--email", "Boss@Example.org", "--password", "long-secret"]
    )
    assert result.exit_code == 0, result.output
    assert "boss@example.org" in result.output

    result = runner.invoke(
        app, ["room", "create", "--owner", "boss@example.org", "--name", "Board"]
    )
    assert result.exit_code == 0, result.output
    found = re.search(r"number (\d+) PIN (\d+) admin PIN (\d+)", result.output)
    assert found, result.output
    number, pin, admin_pin = found.groups()
    assert pin != admin_pin and len(pin) == 6

    result = runner.invoke(app, ["room", "list", "--owner", "boss@example.org"])
    assert result.exit_code == 0, result.output
    assert "Board" in result.output and number in result.output

    result = runner.invoke(app, ["reservation", "list", "--owner", "boss@example.org"])
    assert result.exit_code == 0, result.output


def test_errors_are_reported_without_traceback(runner: CliRunner) -> None:
    result = runner.invoke(app, ["room", "list", "--owner", "nobody@example.org"])
    assert result.exit_code == 1
    assert "account.not_found" in result.output
    assert "Traceback" not in result.output

    result = runner.invoke(
        app, ["admin", "create", "--email", "x@example.org", "--password", "short"]
    )
    assert result.exit_code == 1
    assert "account.weak_password" in result.output
