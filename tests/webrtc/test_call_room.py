"""A 1:1 call room's link in a third party's hands opens nothing (F-WB3, issue 11 "Bad
input"): no room data, no chat, no join, no events; its two accounts use it as a room."""

from __future__ import annotations

import asyncio

from confero.app.services import Services
from tests.web.support import PASSWORD
from tests.webrtc.support import Browser, Served


async def cookie(services: Services, email: str) -> tuple[str, str]:
    account = await services.accounts.by_email(email)
    if account is None:
        account = await services.accounts.create(email, PASSWORD, email.split("@")[0])
    token = await services.accounts.issue_token(account, "session")
    return account.id, f"confero_session={token}"


async def test_only_the_two_accounts_use_a_call_room(
    served: Served, browsers: list[Browser]
) -> None:
    services = served.services
    ann = await services.accounts.create("ann@example.org", PASSWORD, "Ann")
    ben = await services.accounts.create("ben@example.org", PASSWORD, "Ben")
    room = await services.rooms.create_call_room(ann, ben)
    _, ann_cookie = await cookie(services, "ann@example.org")
    _, cat_cookie = await cookie(services, "cat@example.org")

    caller = Browser(served.ws_url(room), cookie=ann_cookie)
    browsers.append(caller)
    hello = await caller.connect()
    assert hello["room"]["name"] == room.name
    await caller.join()

    for outsider in (Browser(served.ws_url(room), cookie=cat_cookie), Browser(served.ws_url(room))):
        browsers.append(outsider)
        await outsider.connect(hello=False)
        for ref, message in (
            ("h", {"type": "hello"}),
            ("j", {"type": "join", "name": "Mallory"}),
            ("c", {"type": "chat", "text": "hi", "name": "Mallory"}),
            ("p", {"type": "chat_history"}),
        ):
            await outsider.send(ref=ref, **message)
            refused = await outsider.expect("error", ref=ref)
            assert refused["code"] == "call.not_yours", message

    await caller.send(type="chat", text="only for Ben")
    await caller.event("chat_posted")
    await asyncio.sleep(0.3)
    for outsider in browsers[1:]:
        assert not [m for m in outsider.messages if m["type"] != "error"], outsider.messages
    snapshot = services.conferences.snapshot(room)
    assert [p["display_name"] for p in snapshot["participants"]] == ["Ann"]
