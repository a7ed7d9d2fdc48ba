"""The phone stack and a room for every test here (see tests/phone/support.py)."""

from tests.loops import pytest_asyncio_loop_factories
from tests.phone.support import phone, room

__all__ = ["phone", "pytest_asyncio_loop_factories", "room"]
