"""Event buses: in-process by default, Redis pub/sub in a cluster."""
