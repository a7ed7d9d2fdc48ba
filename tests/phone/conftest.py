"""The phone stack and a room for every test here (see tests/phone/support.py)."""

from tests.phone.support import phone, room

__all__ = ["phone", "room"]
