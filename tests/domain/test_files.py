"""File names are cleaned, types come from the allowed list, deleting is for some."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from confero.domain.errors import DomainError
from confero.domain.files import MAX_FILE_NAME, SharedFile, clean_name, media_type


@pytest.mark.parametrize(
    ("given", "shown"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\ann\\plan.docx", "plan.docx"),
        ("a\x00b\x1f.txt", "ab.txt"),
        ("  notes.md  ", "notes.md"),
        ("Überblick Q3.xlsx", "Überblick Q3.xlsx"),
    ],
)
def test_names_are_cleaned(given: str, shown: str) -> None:
    assert clean_name(given) == shown


def test_a_long_name_keeps_its_extension() -> None:
    name = clean_name("x" * 300 + ".pdf")
    assert len(name) == MAX_FILE_NAME and name.endswith(".pdf")


@pytest.mark.parametrize("given", ["", "../", "\x00\x01", " . "])
def test_a_name_of_nothing_is_refused(given: str) -> None:
    with pytest.raises(DomainError) as refused:
        clean_name(given)
    assert refused.value.code == "file.invalid_name"


def test_types_come_from_the_extension_and_the_allowed_list() -> None:
    assert media_type("Plan.PDF") == "application/pdf"
    assert media_type("a.txt").startswith("text/plain")
    for refused in ("page.html", "x.svg", "run.exe", "noextension"):
        with pytest.raises(DomainError) as error:
            media_type(refused)
        assert error.value.code == "file.type_refused"
    with pytest.raises(DomainError):
        media_type("a.pdf", allowed=("png",))


def test_who_may_delete() -> None:
    f = SharedFile("f", "r", "a.pdf", "application/pdf", 1, "k", "ann", "Ann", datetime.now(UTC))
    assert f.deletable_by("ann", moderator=False)
    assert not f.deletable_by("ben", moderator=False)
    assert not f.deletable_by(None, moderator=False)
    assert f.deletable_by("ben", moderator=True)
