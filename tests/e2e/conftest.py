"""The phone stack, a whole node, a room and Chromium for every test here (see
tests/phone/support.py, tests/webrtc/support.py, tests/e2e/chromium.py)."""

from tests.e2e.chromium import chromium
from tests.loops import pytest_asyncio_loop_factories
from tests.phone.support import phone, room
from tests.webrtc.support import served

__all__ = ["chromium", "phone", "pytest_asyncio_loop_factories", "room", "served"]
