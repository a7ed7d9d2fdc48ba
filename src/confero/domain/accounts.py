"""Accounts: the hosts who sign in, own rooms and book reservations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from confero.domain.errors import DomainError

MIN_PASSWORD = 8
MAX_PASSWORD = 256
MAX_DISPLAY_NAME = 120
MAX_TIME_ZONE = 64
#: Far above any real plan; keeps the number a plain 32-bit integer in every database.
MAX_SMS_ALLOWANCE = 1_000_000


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


def clean_display_name(name: str, email: str) -> str:
    """Whitespace collapsed, cut to the column; the email's local part when empty."""
    return " ".join(name.split())[:MAX_DISPLAY_NAME] or email.split("@")[0]


def validate_time_zone(name: str) -> str:
    """An IANA zone name such as ``Europe/Warsaw`` (the tzdata package ships them)."""
    try:
        if len(name) > MAX_TIME_ZONE or name == "localtime":
            raise ValueError(name)
        ZoneInfo(name)
    except (ValueError, ZoneInfoNotFoundError):
        raise DomainError(
            "account.invalid_time_zone",
            "that is not a time zone name such as Europe/Warsaw",
            value=name[:MAX_TIME_ZONE],
        ) from None
    return name


def validate_sms_allowance(allowance: int) -> int:
    if not 0 <= allowance <= MAX_SMS_ALLOWANCE:
        raise DomainError(
            "account.invalid_sms_allowance",
            f"the SMS allowance is a number from 0 to {MAX_SMS_ALLOWANCE}",
            maximum=MAX_SMS_ALLOWANCE,
        )
    return allowance


def check_not_self_lockout(actor: Account, target: Account, after: Account) -> None:
    """An administrator cannot disable or demote itself: the server would be left
    without anyone to undo it (there may be no other administrator)."""
    if actor.id == target.id and (after.disabled or not after.is_admin):
        raise DomainError(
            "account.self_lockout", "you cannot disable your own account or drop your admin role"
        )
