"""The one Redis client of a cluster node (issue 16, docs/CLUSTER.md).

Why one module: every piece of shared state (leases, counters, presence, the bus) uses
the same connection pool and the same key prefix, so two clusters (or a test and a
developer's server) can share one Redis without reading each other's keys. Keys are
``<prefix>:<kind>:<id>``; the prefix is ``confero`` unless the URL's path says a
database number, which isolates better (``redis://host:6379/3``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from confero.domain.errors import DomainError

PREFIX = "confero"

T = TypeVar("T")


@dataclass(frozen=True)
class RedisKeys:
    """Key names under one prefix: ``keys.of("lease", room_id)``."""

    prefix: str = PREFIX

    def of(self, kind: str, *parts: str) -> str:
        assert kind and ":" not in kind, kind
        return ":".join((self.prefix, kind, *parts))


def read_json(raw: bytes | str | None, parse: Callable[[Any], T]) -> T | None:
    """``parse`` of a JSON value this code stored, or None: nothing stored, or a value
    ``parse`` does not take (another version's shape, during a rolling upgrade): the
    reader treats it as absent rather than failing on it."""
    if raw is None:
        return None
    try:
        return parse(json.loads(raw))
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def connect(url: str) -> Redis:
    """A client with a pool of its own; ``await client.aclose()`` at shutdown.

    ``decode_responses`` stays off: values are bytes (ids are ASCII; payloads are JSON
    the reader decodes), so nothing is decoded twice."""
    return Redis.from_url(url, socket_connect_timeout=2, socket_timeout=5, health_check_interval=30)


def out_of_reach(exc: RedisError) -> DomainError:
    """What a store answers when Redis cannot be reached: 503 ``server.busy``, never a
    traceback, and nothing taken for a missing record."""
    return DomainError("server.busy", f"the cluster's store is out of reach: {type(exc).__name__}")
