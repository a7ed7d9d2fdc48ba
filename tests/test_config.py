"""Settings that need more than a type: the STUN/TURN list browsers and server share."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from confero.config import Settings


def test_ice_servers_from_one_variable_turn_gets_the_credentials() -> None:
    settings = Settings(
        ice_servers=" stun:stun.example.org:3478 ,turn:turn.example.org:3478?transport=udp,",
        turn_username="confero",
        turn_password="s3cret",
    )
    assert settings.ice_server_list() == [
        {"urls": ["stun:stun.example.org:3478"]},
        {
            "urls": ["turn:turn.example.org:3478?transport=udp"],
            "username": "confero",
            "credential": "s3cret",
        },
    ]


def test_no_ice_servers_by_default() -> None:
    assert Settings().ice_server_list() == []


PG = "postgresql+asyncpg://postgres@127.0.0.1/confero"


def test_a_cluster_node_refuses_to_start_half_configured() -> None:
    """Issue 16: a node that would run alone, unprotected or unreachable while its
    operator believes it is one of several refuses to start, and says why."""
    cases = {
        "needs CONFERO_CLUSTER_SECRET": {"database_url": PG},
        "needs a PostgreSQL": {"cluster_secret": "s", "database_url": ""},
        "fixed CONFERO_SIP_PORT": {"cluster_secret": "s", "database_url": PG, "sip_port": 0},
        "fixed CONFERO_HTTP_PORT": {"cluster_secret": "s", "database_url": PG, "http_port": 0},
    }
    for why, given in cases.items():
        with pytest.raises(ValidationError, match=why):
            Settings(redis_url="redis://127.0.0.1:6379/0", **given)  # type: ignore[arg-type]
    node = Settings(redis_url="redis://127.0.0.1:6379/0", cluster_secret="s", database_url=PG)
    assert node.clustered and node.internal_url == "http://127.0.0.1:8080"
    assert not Settings().clustered
