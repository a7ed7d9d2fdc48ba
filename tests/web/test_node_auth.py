"""A forwarded client's address is believed only when a node of the cluster vouches for
it (issue 16, web/node_auth.py): a limit counted against a forged address would give
each guess a fresh one. The cluster-level test is tests/web/test_forward.py."""

from __future__ import annotations

from confero.web.node_auth import FORWARDED_FOR, MAX_AGE, NODE_AUTH, sign, verified_client

SECRET = "the-cluster-secret"
PATH = "/ws/v1/join/abc"
NOW = 1_800_000_000.0


def test_a_nodes_signature_names_the_client() -> None:
    headers = sign(SECRET, "198.51.100.7", PATH, now=NOW)
    assert verified_client(SECRET, headers, PATH, now=NOW + MAX_AGE) == "198.51.100.7"


def test_a_forged_stale_or_replayed_elsewhere_header_is_not_believed() -> None:
    good = sign(SECRET, "198.51.100.7", PATH, now=NOW)
    forged = {**good, FORWARDED_FOR: "203.0.113.9"}  # another address, the same signature
    assert verified_client(SECRET, forged, PATH, now=NOW) is None
    assert verified_client("another-secret", good, PATH, now=NOW) is None
    assert verified_client(SECRET, good, "/api/v1/rooms/x/chat", now=NOW) is None
    assert verified_client(SECRET, good, PATH, now=NOW + MAX_AGE + 1) is None
    assert verified_client(SECRET, {FORWARDED_FOR: "203.0.113.9"}, PATH, now=NOW) is None
    garbage = {FORWARDED_FOR: "203.0.113.9", NODE_AUTH: "soon.0000"}
    assert verified_client(SECRET, garbage, PATH, now=NOW) is None


def test_without_a_secret_nothing_is_believed() -> None:
    headers = sign("", "198.51.100.7", PATH, now=NOW)  # what an empty secret would sign
    assert verified_client("", headers, PATH, now=NOW) is None


def test_a_signed_name_that_is_no_address_is_not_believed() -> None:
    headers = sign(SECRET, "not-an-address", PATH, now=NOW)
    assert verified_client(SECRET, headers, PATH, now=NOW) is None
