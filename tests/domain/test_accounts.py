"""Accounts: the e-mail that identifies a host, and the password rule."""

from __future__ import annotations

import pytest

from confero.domain.accounts import MAX_PASSWORD, MIN_PASSWORD, normalize_email, validate_password
from confero.domain.errors import DomainError


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("host@example.com", "host@example.com"),
        ("  Host@Example.COM \n", "host@example.com"),
        ("a.b+tag@sub.example.org", "a.b+tag@sub.example.org"),
    ],
)
def test_email_is_trimmed_and_lowercased(raw: str, clean: str) -> None:
    assert normalize_email(raw) == clean


def test_the_same_address_in_another_case_is_the_same_account() -> None:
    assert normalize_email("Ann@Example.com") == normalize_email("ann@example.COM")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "host",
        "host@",
        "@example.com",
        "host@localhost",
        "ho st@example.com",
        "host@exa mple.com",
        "host@other@example.com",
        "a" * 250 + "@example.com",
    ],
)
def test_invalid_email_is_refused(bad: str) -> None:
    with pytest.raises(DomainError) as exc:
        normalize_email(bad)
    assert exc.value.code == "account.invalid_email"


@pytest.mark.parametrize("password", ["x" * MIN_PASSWORD, "correct horse", "x" * MAX_PASSWORD])
def test_password_of_valid_length_is_accepted(password: str) -> None:
    validate_password(password)


@pytest.mark.parametrize("password", ["", "x" * (MIN_PASSWORD - 1), "x" * (MAX_PASSWORD + 1)])
def test_password_too_short_or_too_long_is_refused(password: str) -> None:
    with pytest.raises(DomainError) as exc:
        validate_password(password)
    assert exc.value.code == "account.weak_password"
