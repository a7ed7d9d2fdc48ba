"""Accounts for the REST API tests: created once through the service (scrypt is slow),
then signed in through the API itself, and used with bearer-token headers so one client
can speak for several people."""

from __future__ import annotations

import httpx
import pytest

from confero.app.services import Services
from tests.web.support import User, make_user


@pytest.fixture
async def admin(services: Services, client: httpx.AsyncClient) -> User:
    """An administrator; in most tests simply the owner of the rooms under test."""
    return await make_user(services, client, "ada@example.org", "Ada Admin", is_admin=True)


@pytest.fixture
async def other(services: Services, client: httpx.AsyncClient) -> User:
    """A second, ordinary account."""
    return await make_user(services, client, "bob@example.org", "Bob Other")


@pytest.fixture
async def third(services: Services, client: httpx.AsyncClient) -> User:
    """A third ordinary account, for rooms with two kinds of members."""
    return await make_user(services, client, "cleo@example.org", "Cleo Third")
