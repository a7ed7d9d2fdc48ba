"""The HTTP adapter: REST API (FastAPI), later WebSocket signaling and pages."""
