"""Settings that need more than a type: the STUN/TURN list browsers and server share."""

from __future__ import annotations

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
