"""Browser participants: WebRTC media through aiortc and the signaling that sets it up."""
