"""Accounts, sign-in and tokens; the administrators' account list (F-RS8).

Passwords are hashed with scrypt from the standard library (memory-hard, no extra
dependency). Session and API tokens are 256-bit random values; only their SHA-256 is
stored, so a leaked database does not leak usable tokens. A new password (changed or
reset) and a disabled account end the account's sessions: whoever held them must sign
in again with the new secret.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TypedDict, Unpack

from confero.app.ports import Clock, UnitOfWork, UnitOfWorkFactory
from confero.app.ratelimit import Backoff, RateLimiter
from confero.app.token_cache import TokenCache
from confero.domain.accounts import (
    Account,
    check_not_self_lockout,
    clean_display_name,
    normalize_email,
    validate_password,
    validate_sms_allowance,
    validate_time_zone,
)
from confero.domain.errors import DomainError

_SCRYPT = {"n": 2**14, "r": 8, "p": 1}
SESSION_LIFETIME = timedelta(days=14)
API_TOKEN_LIFETIME = timedelta(days=365)


class AccountChanges(TypedDict, total=False):
    """What an administrator may change about an account; a key left out (or None)
    keeps the stored value."""

    display_name: str | None
    is_admin: bool | None
    disabled: bool | None
    sms_allowance: int | None
    time_zone: str | None


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


async def checked_off_loop(password: str, stored: str) -> bool:
    """``verify_password`` in a worker thread: scrypt takes tens of milliseconds of CPU
    by design, and on the event loop every sign-in (or a guesser's every try) would stop
    the media tick as long (a 23 ms stall seen in issue 14's soak)."""
    return await asyncio.to_thread(verify_password, password, stored)


async def hashed_off_loop(password: str) -> str:
    return await asyncio.to_thread(hash_password, password)


#: Compared against when the email is unknown, so both paths cost the same time.
_DUMMY_HASH = hash_password(secrets.token_hex(8))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        limiter: RateLimiter,
        backoff: Backoff | None = None,
        tokens: TokenCache | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._limiter = limiter
        #: Resolved tokens (issue 17): every write below that ends a token or changes an
        #: account forgets it here, after its commit.
        self._tokens = tokens or TokenCache()
        #: Sign-in per account (issue 14): slowed down, never locked.
        self.backoff = backoff or Backoff()

    async def create(
        self,
        email: str,
        password: str,
        display_name: str = "",
        *,
        is_admin: bool = False,
        sms_allowance: int = 0,
        time_zone: str = "UTC",
    ) -> Account:
        email = normalize_email(email)
        validate_password(password)
        account = Account(
            id=uuid.uuid4().hex,
            email=email,
            display_name=clean_display_name(display_name, email),
            password_hash=await hashed_off_loop(password),
            created_at=self._clock.now(),
            is_admin=is_admin,
            time_zone=validate_time_zone(time_zone),
            sms_allowance=validate_sms_allowance(sms_allowance),
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
        """Per source address: 5 failures per 10 minutes, then that address waits.
        Per account (issue 14): a progressive delay (``Backoff``), not a lock-out, so
        guessing from many addresses slows the owner down but cannot shut them out; a
        success forgets the account's failures."""
        now = self._clock.now()
        source_key = f"signin:src:{source}"
        account_key = f"signin:acct:{email.strip().lower()[:254]}"
        await self._limiter.check(source_key, now)
        await self.backoff.check(account_key, now)
        account = None
        try:
            account = await self.by_email(email)
        except DomainError:
            account = None
        ok = await checked_off_loop(password, account.password_hash if account else _DUMMY_HASH)
        if account is None or not ok:
            await self._limiter.fail(source_key, now)
            await self.backoff.fail(account_key, now)
            raise DomainError("auth.invalid_credentials", "wrong email or password")
        await self.backoff.forget(account_key)
        # Only after the password: without it nobody learns that the account exists.
        if account.disabled:
            raise DomainError("auth.account_disabled", "this account is disabled")
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
        hashed = token_hash(token)
        now = self._clock.now()
        cached = self._tokens.get(hashed, now)
        if cached is not None:
            return cached
        generation = self._tokens.generation
        async with self._uow() as uow:
            found = await uow.tokens.signed_in(hashed)
            if found is None:
                return None
            account, expires_at = found
            if expires_at <= now:
                await uow.tokens.delete(hashed)
                await uow.commit()
                return None
        if account.disabled:
            return None
        self._tokens.put(hashed, account, expires_at, now, generation)
        return account

    async def revoke_token(self, token: str) -> None:
        hashed = token_hash(token)
        async with self._uow() as uow:
            await uow.tokens.delete(hashed)
            await uow.commit()
        self._tokens.forget(hashed)

    async def ensure_admin(self, email: str) -> str | None:
        """On first start, create the admin with a random password and return it once.

        Nodes of a cluster starting together on an empty database race here (issue 16):
        the one whose insert wins prints the password; to the others the admin is simply
        there, whichever check (ours or the database's unique index) stopped them."""
        if await self.count() > 0:
            return None
        password = secrets.token_urlsafe(12)
        try:
            await self.create(email, password, "Administrator", is_admin=True)
        except Exception:  # the email check, or the store's unique index, in a tie
            if await self.count() > 0:
                return None
            raise
        return password

    # ------------------------------------------------------------ own settings
    async def update_own(
        self, account: Account, *, display_name: str | None = None, time_zone: str | None = None
    ) -> Account:
        """What an account changes about itself (the panel's settings)."""
        return await self._change(account.id, display_name=display_name, time_zone=time_zone)

    async def change_password(
        self, account: Account, current: str, new: str, keep_token: str | None = None
    ) -> None:
        """Rate-limited like sign-in. Every other session and API token of the account
        ends; ``keep_token`` (the one this request came with) stays signed in."""
        now = self._clock.now()
        key = f"password:acct:{account.id}"
        await self._limiter.check(key, now)
        validate_password(new)
        async with self._uow() as uow:
            stored = await uow.accounts.get(account.id)
            if stored is None or not await checked_off_loop(current, stored.password_hash):
                await self._limiter.fail(key, now)
                raise DomainError("account.wrong_password", "the current password is wrong")
            await uow.accounts.update(replace(stored, password_hash=await hashed_off_loop(new)))
            keep = token_hash(keep_token) if keep_token else None
            await uow.tokens.delete_for_account(account.id, except_hash=keep)
            await uow.commit()
        self._tokens.forget_account(account.id)

    # ---------------------------------------------------------- administrators
    @staticmethod
    def require_admin(actor: Account) -> None:
        if not actor.is_admin:
            raise DomainError("auth.forbidden", "only an administrator may do this")

    async def list_all(self, actor: Account) -> Sequence[Account]:
        self.require_admin(actor)
        async with self._uow() as uow:
            return await uow.accounts.list_all()

    async def update(
        self, actor: Account, account_id: str, **changes: Unpack[AccountChanges]
    ) -> Account:
        """An administrator changes an account; disabling it ends its sessions."""
        self.require_admin(actor)
        return await self._change(account_id, actor=actor, **changes)

    async def reset_password(self, actor: Account, account_id: str, password: str) -> None:
        """An administrator sets a new password; the account's sessions end."""
        self.require_admin(actor)
        validate_password(password)
        async with self._uow() as uow:
            target = await self._existing(uow, account_id)
            new_hash = await hashed_off_loop(password)
            await uow.accounts.update(replace(target, password_hash=new_hash))
            await uow.tokens.delete_for_account(target.id)
            await uow.commit()
        self._tokens.forget_account(account_id)

    @staticmethod
    async def _existing(uow: UnitOfWork, account_id: str) -> Account:
        account = await uow.accounts.get(account_id)
        if account is None:
            raise DomainError("account.not_found", "no such account")
        return account

    async def _change(
        self,
        account_id: str,
        *,
        actor: Account | None = None,
        display_name: str | None = None,
        is_admin: bool | None = None,
        disabled: bool | None = None,
        sms_allowance: int | None = None,
        time_zone: str | None = None,
    ) -> Account:
        """Validate everything first, then write once: a refused change changes nothing."""
        async with self._uow() as uow:
            target = await self._existing(uow, account_id)
            after = replace(target)
            if display_name is not None:
                after.display_name = clean_display_name(display_name, target.email)
            if time_zone is not None:
                after.time_zone = validate_time_zone(time_zone)
            if sms_allowance is not None:
                after.sms_allowance = validate_sms_allowance(sms_allowance)
            if is_admin is not None:
                after.is_admin = is_admin
            if disabled is not None:
                after.disabled = disabled
            if actor is not None:
                check_not_self_lockout(actor, target, after)
            await uow.accounts.update(after)
            if after.disabled and not target.disabled:
                await uow.tokens.delete_for_account(target.id)
            await uow.commit()
        self._tokens.forget_account(account_id)
        return after
