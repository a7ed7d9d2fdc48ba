"""Our own asyncio SIP stack (see message.py for what of RFC 3261 it covers)."""
