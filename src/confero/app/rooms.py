"""Rooms: create, find, change, delete; their chat and activity (F-RC1, F-EN8).

A room is visible to its owner and members only; to anyone else it does not exist
(``room.not_found``), so room ids cannot be probed. Only the owner changes a room; the
owner and moderator members may replace its invite link (F-RS6) and add, remove and set
the role of members (F-WB4).

The private room of an accepted 1:1 call (``RoomKind.CALL``, F-WB3) is made here too; it
is never listed, not reachable by phone (repositories), and keeps its settings, link and
two people as made: nobody changes it.
"""

from __future__ import annotations

import builtins
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from confero.app.chat_limits import ChatLimits
from confero.app.counters import CounterStore
from confero.app.ports import Clock, EventBus, UnitOfWork, UnitOfWorkFactory
from confero.app.ratelimit import GuessGuard, GuessPolicy, RateLimiter
from confero.domain.accounts import Account
from confero.domain.content import ActivityEntry, ChatMessage, clean_chat_text
from confero.domain.errors import DomainError
from confero.domain.events import ChatPosted, RoomContentReset
from confero.domain.roles import Role
from confero.domain.rooms import (
    CONFERENCE_NUMBER_LENGTH,
    DEFAULT_CAPACITY,
    MAX_NAME_LENGTH,
    Language,
    Room,
    RoomKind,
    generate_pins,
    random_digits,
    validate_capacity,
    validate_name,
)

_NUMBER_ATTEMPTS = 50
#: A call room holds its two people.
CALL_CAPACITY = 2


def new_invite_token() -> str:
    """192 random bits from the OS's CSPRNG: a link nobody can guess."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class RoomPolicy:
    max_capacity: int = 30
    pin_length: int = 6
    #: PIN and conference-number guessing (issue 14): see ``GuessPolicy``.
    guesses: GuessPolicy = field(default_factory=GuessPolicy)


def _room_key(number: str) -> str:
    return f"pin:room:{number[:16]}"


def _language(value: str) -> Language:
    try:
        return Language(value)
    except ValueError:
        raise DomainError("room.invalid_language", "language is one of en, nl, de, pl") from None


class RoomService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        clock: Clock,
        bus: EventBus,
        policy: RoomPolicy,
        limiter: RateLimiter,
        counters: CounterStore | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._limiter = limiter
        self.policy = policy
        #: ``counters``: where guesses and chat posts count; None: this process's memory,
        #: a cluster node's Redis otherwise (issue 16).
        self.guesses = GuessGuard(policy.guesses, counters)
        #: Chat floods per sender and per room, socket and REST alike (issue 14).
        self.chat_limits = ChatLimits(store=counters)

    async def add_room(
        self,
        uow: UnitOfWork,
        owner: Account,
        name: str,
        *,
        capacity: int | None = None,
        language: str = "en",
        booked: bool = False,
        allow_self_unmute: bool = True,
        mute_on_entry: bool = False,
        kind: RoomKind = RoomKind.ROOM,
        members: dict[str, Role] | None = None,
    ) -> Room:
        """Inside the caller's unit of work, so a reservation and its room commit together."""
        capacity = (
            capacity if capacity is not None else min(DEFAULT_CAPACITY, self.policy.max_capacity)
        )
        validate_capacity(capacity, self.policy.max_capacity)
        pin, admin_pin = generate_pins(self.policy.pin_length)
        for _ in range(_NUMBER_ATTEMPTS):
            number = random_digits(CONFERENCE_NUMBER_LENGTH)
            if number[0] != "0" and not await uow.rooms.number_taken(number):
                break
        else:  # pragma: no cover - a million numbers exhausted
            raise DomainError("room.no_number_free", "no conference number is free")
        room = Room(
            id=uuid.uuid4().hex,
            owner_id=owner.id,
            name=validate_name(name),
            conference_number=number,
            pin=pin,
            admin_pin=admin_pin,
            invite_token=new_invite_token(),
            created_at=self._clock.now(),
            capacity=capacity,
            language=_language(language),
            booked=booked,
            allow_self_unmute=allow_self_unmute,
            mute_on_entry=mute_on_entry,
            members=dict(members or {}),
            kind=kind,
        )
        await uow.rooms.add(room)
        return room

    async def create_call_room(self, caller: Account, callee: Account) -> Room:
        """The private room of an accepted 1:1 call (F-WB3): owned by the caller, the
        callee a moderator member, room for the two of them and a fresh invite link. It
        gets a conference number like any room (the column is unique), but ``by_number``
        never answers with it."""
        name = f"{caller.display_name} \u2013 {callee.display_name}"
        if len(name) > MAX_NAME_LENGTH:
            name = name[: MAX_NAME_LENGTH - 1].rstrip() + "\u2026"
        async with self._uow() as uow:
            room = await self.add_room(
                uow,
                caller,
                name,
                capacity=min(CALL_CAPACITY, self.policy.max_capacity),
                kind=RoomKind.CALL,
                members={callee.id: Role.MODERATOR},
            )
            await uow.commit()
        return room

    async def create(self, owner: Account, name: str, **options: object) -> Room:
        async with self._uow() as uow:
            room = await self.add_room(uow, owner, name, **options)  # type: ignore[arg-type]
            await uow.commit()
        return room

    @staticmethod
    async def visible(uow: UnitOfWork, account: Account, room_id: str) -> Room:
        room = await uow.rooms.get(room_id)
        if room is None or room.role_for_account(account.id) is None:
            raise DomainError("room.not_found", "no such room")
        return room

    @staticmethod
    def require_owner(account: Account, room: Room) -> None:
        if room.owner_id != account.id:
            raise DomainError("auth.forbidden", "only the room's owner may do this")

    @staticmethod
    def require_moderator(account: Account, room: Room) -> None:
        """The owner or a moderator member; never in a call room (it stays as made)."""
        if room.role_for_account(account.id) is not Role.MODERATOR:
            raise DomainError("auth.forbidden", "only the owner or a moderator may do this")
        RoomService.require_not_call(room)

    @staticmethod
    def require_not_call(room: Room) -> None:
        if room.is_call:
            raise DomainError("auth.forbidden", "a call's room cannot be changed")

    async def get(self, account: Account, room_id: str) -> Room:
        async with self._uow() as uow:
            return await self.visible(uow, account, room_id)

    async def get_by_id(self, room_id: str) -> Room | None:
        async with self._uow() as uow:
            return await uow.rooms.get(room_id)

    async def by_number(self, conference_number: str) -> Room | None:
        async with self._uow() as uow:
            return await uow.rooms.by_number(conference_number)

    async def access_by_pin(
        self, conference_number: str, pin: str, source: str, *, address: str | None = None
    ) -> tuple[Room, Role]:
        """The room and role a conference number + PIN open (F-PH1).

        Failures count per caller id (``source``), per network ``address`` (unless a
        trusted proxy) and per conference number, at once (issue 14: the caller id alone
        is the guesser's choice): a key at its limit refuses every attempt, the right
        PIN too, with ``auth.rate_limited``; a room's lock-out is shown to its owner, who
        may lift it. Wrong number and wrong PIN answer alike and count alike (a number
        nobody has is counted and locked like a room's), so numbers cannot be probed.
        ``access.invalid`` carries ``delay``: the seconds to wait before the next try.
        """
        now = self._clock.now()
        limits = self._guess_limits(conference_number, source, address)
        await self.guesses.check(limits, now)
        room = await self.by_number(conference_number) if conference_number.isdigit() else None
        role = room.role_for_pin(pin) if room is not None and pin.isdigit() else None
        if room is None or role is None:
            delay = await self.guesses.fail(
                limits, now, {_room_key(conference_number): self.guesses.policy.room_lockout}
            )
            raise DomainError("access.invalid", "wrong conference number or PIN", delay=delay)
        return room, role

    def _guess_limits(self, number: str, source: str, address: str | None) -> dict[str, int]:
        p = self.guesses.policy
        limits = {f"pin:caller:{source}": p.per_caller, _room_key(number): p.per_room}
        if address and not p.trusted(address):
            limits[f"pin:src:{address}"] = p.per_source
        return limits

    async def pin_locked_until(self, account: Account, room_id: str) -> datetime | None:
        """Until when PIN entry of a room is locked after guessing (issue 14); owner only."""
        room = await self.get(account, room_id)
        self.require_owner(account, room)
        return await self.room_locked_until(room)

    async def room_locked_until(self, room: Room) -> datetime | None:
        key = _room_key(room.conference_number)
        return await self.guesses.locked_until(key, self._clock.now())

    async def lift_pin_lockout(self, account: Account, room_id: str) -> Room:
        """The owner opens PIN entry again (and forgets the room's failures)."""
        room = await self.get(account, room_id)
        self.require_owner(account, room)
        await self.guesses.lift(_room_key(room.conference_number))
        return room

    async def by_invite_token(self, token: str) -> Room | None:
        async with self._uow() as uow:
            return await uow.rooms.by_invite_token(token)

    async def list(self, account: Account) -> Sequence[Room]:
        async with self._uow() as uow:
            return await uow.rooms.list_for_account(account.id)

    async def update(
        self,
        account: Account,
        room_id: str,
        *,
        name: str | None = None,
        capacity: int | None = None,
        language: str | None = None,
        allow_self_unmute: bool | None = None,
        mute_on_entry: bool | None = None,
    ) -> Room:
        async with self._uow() as uow:
            room = await self.visible(uow, account, room_id)
            self.require_owner(account, room)
            self.require_not_call(room)
            changed = replace(room, members=dict(room.members))
            if name is not None:
                changed.name = validate_name(name)
            if capacity is not None:
                validate_capacity(capacity, self.policy.max_capacity)
                changed.capacity = capacity
            if language is not None:
                changed.language = _language(language)
            if allow_self_unmute is not None:
                changed.allow_self_unmute = allow_self_unmute
            if mute_on_entry is not None:
                changed.mute_on_entry = mute_on_entry
            await uow.rooms.update(changed)
            await uow.commit()
        return changed

    async def set_locked(self, room_id: str, locked: bool) -> None:
        async with self._uow() as uow:
            room = await uow.rooms.get(room_id)
            if room is not None and room.locked != locked:
                room.locked = locked
                await uow.rooms.update(room)
                await uow.commit()

    async def regenerate_pins(self, account: Account, room_id: str) -> Room:
        async with self._uow() as uow:
            room = await self.visible(uow, account, room_id)
            self.require_owner(account, room)
            self.require_not_call(room)
            room.pin, room.admin_pin = generate_pins(self.policy.pin_length)
            await uow.rooms.update(room)
            await uow.commit()
        return room

    async def new_invite_link(self, account: Account, room_id: str) -> Room:
        """Replace the invite token; pages and sockets look the token up on every
        request, so the old link stops working at once."""
        async with self._uow() as uow:
            room = await self.visible(uow, account, room_id)
            self.require_moderator(account, room)
            room.invite_token = new_invite_token()
            await uow.rooms.update(room)
            await uow.commit()
        return room

    async def set_member(
        self, account: Account, room_id: str, member_email: str, role: str | None
    ) -> Room:
        """Add or change a member (``role``), or remove them (``None``), by email."""
        async with self._uow() as uow:
            room = await self.visible(uow, account, room_id)
            self.require_moderator(account, room)
            member = await uow.accounts.by_email(member_email.strip().lower())
            return await self._set_member(uow, room, member, role)

    async def set_member_by_id(
        self, account: Account, room_id: str, member_id: str, role: str | None
    ) -> Room:
        """``set_member`` by account id (the panel's members list, F-WB4)."""
        async with self._uow() as uow:
            room = await self.visible(uow, account, room_id)
            self.require_moderator(account, room)
            member = await uow.accounts.get(member_id)
            return await self._set_member(uow, room, member, role)

    @staticmethod
    async def _set_member(
        uow: UnitOfWork, room: Room, member: Account | None, role: str | None
    ) -> Room:
        """Owner and moderator members may do it (F-WB4); the owner stays moderator."""
        if member is None:
            raise DomainError("account.not_found", "no such account")
        if member.id == room.owner_id:
            raise DomainError("room.owner_is_moderator", "the owner is always moderator")
        if role is None:
            room.members.pop(member.id, None)
        else:
            try:
                room.members[member.id] = Role(role)
            except ValueError:
                raise DomainError("room.invalid_role", "role is participant or moderator") from None
        await uow.rooms.update(room)
        await uow.commit()
        return room

    async def retire_call_room(self, room_id: str) -> bool:
        """A 1:1 call is over: its room goes with its chat and log (a call room is not a
        place people come back to; left, each call would hold a conference number for
        ever). Rooms of any other kind are never touched here."""
        async with self._uow() as uow:
            room = await uow.rooms.get(room_id)
            if room is None or not room.is_call:
                return False
            await uow.rooms.delete(room.id)
            await uow.commit()
        return True

    async def delete(self, account: Account, room_id: str) -> None:
        async with self._uow() as uow:
            room = await self.visible(uow, account, room_id)
            self.require_owner(account, room)
            await uow.rooms.delete(room.id)
            await uow.commit()

    # ----------------------------------------------------------------- content
    async def post_chat(
        self,
        room: Room,
        author_name: str,
        text: str,
        account_id: str | None = None,
        *,
        sender: str | None = None,
    ) -> ChatMessage:
        """``sender`` (who posts, however they reach us) counts against the chat limits;
        None only for the server's own posts. An ``account_id`` is given for the room's
        own people only (members), who are not held to the guests' room budget."""
        if sender is not None:
            await self.chat_limits.check(room.id, sender, member=account_id is not None)
        name = " ".join(author_name.split())[:80] or "Guest"
        message = ChatMessage(
            room_id=room.id,
            author_name=name,
            text=clean_chat_text(text),
            created_at=self._clock.now(),
            account_id=account_id,
        )
        async with self._uow() as uow:
            message = await uow.chat.add(message)
            await uow.commit()
        assert message.id is not None
        await self._bus.publish(
            ChatPosted(
                room_id=room.id,
                message_id=message.id,
                author_name=message.author_name,
                text=message.text,
                created_at=message.created_at.isoformat(),
                account_id=account_id,
            )
        )
        return message

    async def list_chat(
        self, room_id: str, before: int | None = None, limit: int = 50
    ) -> Sequence[ChatMessage]:
        async with self._uow() as uow:
            return await uow.chat.list(room_id, before=before, limit=limit)

    async def list_activity(
        self, room_id: str, before: int | None = None, limit: int = 50
    ) -> Sequence[ActivityEntry]:
        async with self._uow() as uow:
            return await uow.activity.list(room_id, before=before, limit=limit)

    async def record(self, entry: ActivityEntry) -> None:
        async with self._uow() as uow:
            await uow.activity.add(entry)
            await uow.commit()

    async def reset_content(self, room_id: str, by: str | None = None) -> builtins.list[str]:
        """Delete chat, activity, whiteboards, files and recordings in one transaction
        (F-EN4); returns the blob keys whose bytes the caller deletes after the commit."""
        async with self._uow() as uow:
            keys = await uow.content.delete_for_room(room_id)
            await uow.commit()
        await self._bus.publish(RoomContentReset(room_id=room_id, by=by))
        return keys
