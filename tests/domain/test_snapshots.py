"""The conference's frozen snapshot as the API and the pages show it."""

from __future__ import annotations

from dataclasses import asdict

from confero.domain.roles import Role
from confero.domain.snapshots import ParticipantSnapshot


def test_view_dict_is_the_view_as_a_dict() -> None:
    for account_id in ("acc-1", None):
        p = ParticipantSnapshot(
            id="p1",
            display_name="Ann",
            role=Role.MODERATOR,
            channel="browser",
            identity="account:acc-1",
            joined_seq=3,
            account_id=account_id,
            muted=True,
            muted_by_host=False,
            hand_raised=True,
            volume=2,
            announcements=True,
        )
        assert p.view_dict() == asdict(p.view())
        assert list(p.view_dict()) == list(asdict(p.view()))
