"""Accounts: the hosts who sign in, own rooms and book reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from confero.domain.errors import DomainError

MIN_PASSWORD = 8
MAX_PASSWORD = 256


@dataclass
class Account:
    id: str
    email: str
    display_name: str
    password_hash: str
    created_at: datetime
    is_admin: bool = False
    #: A disabled account cannot sign in and its tokens stop working.
    disabled: bool = False
    #: IANA zone the account's times are shown in (panel, mails, SMS).
    time_zone: str = "UTC"
    #: SMS are a paid option (seed 004): how many this account may send, and has sent.
    sms_allowance: int = 0
    sms_used: int = 0

    @property
    def sms_left(self) -> int:
        return max(0, self.sms_allowance - self.sms_used)


def normalize_email(email: str) -> str:
    cleaned = email.strip().lower()
    local, _, domain = cleaned.partition("@")
    if not local or "." not in domain or "@" in domain or len(cleaned) > 254 or " " in cleaned:
        raise DomainError("account.invalid_email", "that is not an email address")
    return cleaned


def validate_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise DomainError(
            "account.weak_password", f"a password has at least {MIN_PASSWORD} characters"
        )
