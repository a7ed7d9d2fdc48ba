"""Accounts, sign-in and tokens.

Passwords are hashed with scrypt from the standard library (memory-hard, no extra
dependency). Session and API tokens are 256-bit random values; only their SHA-256 is
stored, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid
from datetime import timedelta

from confero.app.ports import Clock, UnitOfWorkFactory
from confero.app.ratelimit import RateLimiter
from confero.domain.accounts import Account, normalize_email, validate_password
from confero.domain.errors import DomainError

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SESSION_LIFETIME = timedelta(days=14)
API_TOKEN_LIFETIME = timedelta(days=365)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_b64, digest_b64 = stored.split("$")
        salt, digest = base64.b64decode(salt_b64), base64.b64decode(digest_b64)
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    candidate = hashlib.scrypt(password.encode(), salt=salt, dklen=len(digest), **_SCRYPT)
    return hmac.compare_digest(candidate, digest)


#: Compared against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(self, uow: UnitOfWorkFactory, clock: Clock, limiter: RateLimiter) -> None:
        self._uow = uow
        self._clock = clock
        self._limiter = limiter

    async def create(
        self, email: str, password: str, display_name: str = "", *, is_admin: bool = False
    ) -> Account:
        email = normalize_email(email)
        validate_password(password)
        name = " ".join(display_name.split())[:120] or email.split("@")[0]
        account = Account(
            id=uuid.uuid4().hex,
            email=email,
            display_name=name,
            password_hash=hash_password(password),
            created_at=self._clock.now(),
            is_admin=is_admin,
        )
        async with self._uow() as uow:
            if await uow.accounts.by_email(email) is not None:
                raise DomainError("account.email_taken", "an account with that email exists")
            await uow.accounts.add(account)
            await uow.commit()
        return account

    async def count(self) -> int:
        async with self._uow() as uow:
            return await uow.accounts.count()

    async def get(self, account_id: str) -> Account | None:
        async with self._uow() as uow:
            return await uow.accounts.get(account_id)

    async def by_email(self, email: str) -> Account | None:
        async with self._uow() as uow:
            return await uow.accounts.by_email(normalize_email(email))

    async def authenticate(self, email: str, password: str, source: str) -> Account:
        """Rate-limited per source and per account: 5 failures per 10 minutes."""
        now = self._clock.now()
        keys = (f"signin:src:{source}", f"signin:acct:{email.strip().lower()}")
        for key in keys:
            self._limiter.check(key, now)
        account = None
        try:
            account = await self.by_email(email)
        except DomainError:
            account = None
        ok = verify_password(password, account.password_hash if account else _DUMMY_HASH)
        if account is None or not ok:
            for key in keys:
                self._limiter.fail(key, now)
            raise DomainError("auth.invalid_credentials", "wrong email or password")
        return account

    async def issue_token(self, account: Account, kind: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        lifetime = SESSION_LIFETIME if kind == "session" else API_TOKEN_LIFETIME
        async with self._uow() as uow:
            await uow.tokens.add(token_hash(token), account.id, kind, now, now + lifetime)
            await uow.commit()
        return token

    async def resolve_token(self, token: str) -> Account | None:
        if not token or len(token) > 200:
            return None
        async with self._uow() as uow:
            found = await uow.tokens.get(token_hash(token))
            if found is None:
                return None
            account_id, expires_at = found
            if expires_at <= self._clock.now():
                await uow.tokens.delete(token_hash(token))
                await uow.commit()
                return None
            return await uow.accounts.get(account_id)

    async def revoke_token(self, token: str) -> None:
        async with self._uow() as uow:
            await uow.tokens.delete(token_hash(token))
            await uow.commit()

    async def ensure_admin(self, email: str) -> str | None:
        """On first start, create the admin with a random password and return it once."""
        if await self.count() > 0:
            return None
        password = secrets.token_urlsafe(12)
        await self.create(email, password, "Administrator", is_admin=True)
        return password
