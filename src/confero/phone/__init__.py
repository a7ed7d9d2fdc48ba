"""The phone channel: IVR (dial-in flow), in-call keypad, dial-out. Speaks SIP and RTP
through ``confero.sip`` and ``confero.media`` and acts only through app commands."""
