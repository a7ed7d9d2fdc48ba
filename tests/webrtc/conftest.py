from tests.phone.support import room
from tests.webrtc.support import browsers, served

__all__ = ["browsers", "room", "served"]
