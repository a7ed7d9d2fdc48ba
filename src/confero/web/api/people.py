"""Contacts and the directory over REST (issue 11, F-WB3).

A signed-in account's contacts are the accounts it added plus the co-members of its
rooms, each with its presence (``offline`` | ``online`` | ``busy``) as the people
service knows it from the open pages. The directory finds accounts of this server by
name or email (two characters at least) to add them. Every change tells the people
service, which sends the new list to the account's open pages.

The helpers here (``contact_service``, ``presence``, ``contacts_changed``) serve the
room members routes too (web/api/rooms.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from confero.app.contacts import ContactService
from confero.app.services import Services
from confero.domain.people import (
    DIRECTORY_LIMIT,
    MAX_DIRECTORY_LIMIT,
    MAX_QUERY,
    Contact,
    Member,
    Presence,
)
from confero.web.deps import AccountDep, ServicesDep

router = APIRouter(tags=["people"])


async def contact_service(svc: ServicesDep) -> ContactService:
    """The composition root's contact service; until it has one, one over the same store
    and clock (it keeps no state of its own, so both answer the same). ``async`` so
    that FastAPI does not run it in its thread pool (web/deps.py)."""
    wired = getattr(svc, "contacts", None)
    return wired if isinstance(wired, ContactService) else ContactService(svc.uow, svc.clock)


ContactsDep = Annotated[ContactService, Depends(contact_service)]


async def presence(svc: Services, account_ids: Iterable[str]) -> dict[str, str]:
    """Account id -> presence from the people service; "offline" where there is none."""
    ids = list(account_ids)
    people = getattr(svc, "people", None)
    known: dict[str, str] = await people.presence_of(ids) if people is not None else {}
    return {i: known.get(i, Presence.OFFLINE.value) for i in ids}


def contacts_changed(svc: Services, account_ids: Iterable[str]) -> None:
    """The contact lists of these accounts changed: their open pages get the new one."""
    people = getattr(svc, "people", None)
    if people is not None:
        people.contacts_changed(set(account_ids))


class ContactOut(BaseModel):
    account_id: str
    display_name: str
    email: str
    #: added | room | directory
    source: str
    #: offline | online | busy
    presence: str

    @classmethod
    async def many(cls, svc: Services, contacts: list[Contact]) -> list[ContactOut]:
        states = await presence(svc, (c.account_id for c in contacts))
        return [
            cls(
                account_id=c.account_id,
                display_name=c.display_name,
                email=c.email,
                source=c.source.value,
                presence=states[c.account_id],
            )
            for c in contacts
        ]


class MemberOut(BaseModel):
    account_id: str
    display_name: str
    email: str
    #: participant | moderator (the owner is always moderator)
    role: str
    is_owner: bool
    #: offline | online | busy
    presence: str

    @classmethod
    async def many(cls, svc: Services, members: list[Member]) -> list[MemberOut]:
        states = await presence(svc, (m.account_id for m in members))
        return [
            cls(
                account_id=m.account_id,
                display_name=m.display_name,
                email=m.email,
                role=m.role.value,
                is_owner=m.is_owner,
                presence=states[m.account_id],
            )
            for m in members
        ]


class ContactIn(BaseModel):
    """Exactly one of the two: the account's id (from the directory) or its email."""

    account_id: str | None = Field(default=None, max_length=64)
    email: str | None = Field(default=None, max_length=254)


@router.get("/api/v1/contacts", response_model=list[ContactOut])
async def list_contacts(
    account: AccountDep, svc: ServicesDep, contacts: ContactsDep
) -> list[ContactOut]:
    return await ContactOut.many(svc, await contacts.list(account))


@router.post("/api/v1/contacts", response_model=ContactOut, status_code=status.HTTP_201_CREATED)
async def add_contact(
    body: ContactIn, account: AccountDep, svc: ServicesDep, contacts: ContactsDep
) -> ContactOut:
    added = await contacts.add(account, contact_id=body.account_id, email=body.email)
    contacts_changed(svc, [account.id])
    (out,) = await ContactOut.many(svc, [added])
    return out


@router.delete("/api/v1/contacts/{contact_id}", status_code=status.HTTP_204_NO_CONTENT)
async def remove_contact(
    contact_id: str, account: AccountDep, svc: ServicesDep, contacts: ContactsDep
) -> Response:
    await contacts.remove(account, contact_id)
    contacts_changed(svc, [account.id])
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/api/v1/directory", response_model=list[ContactOut])
async def directory(
    account: AccountDep,
    svc: ServicesDep,
    contacts: ContactsDep,
    q: Annotated[str, Query(max_length=MAX_QUERY)] = "",
    limit: Annotated[int, Query(ge=1, le=MAX_DIRECTORY_LIMIT)] = DIRECTORY_LIMIT,
) -> list[ContactOut]:
    """Accounts whose name or email contains ``q`` (two characters at least: a shorter
    query answers an empty list), oneself left out."""
    return await ContactOut.many(svc, await contacts.directory(account, q, limit))
