"""Observability (issue 18): the node's Prometheus metrics (``metrics``) and its logs,
plain or JSON, with request, call, room and participant ids and no secrets (``logs``).

A leaf like ``heap``: it imports nothing of ours, so every adapter may use it; the domain
and the app stay free of it (the app reports through plain callbacks)."""
