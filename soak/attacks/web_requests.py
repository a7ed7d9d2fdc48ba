"""Cheap, stateless request attacks: a ``before`` one past a signed 64-bit integer on
chat, activity and the socket's ``chat_history`` (issue 14: 500), and the framing headers
of ``/join/<token>`` (issue 14: no ``frame-ancestors``, no ``X-Frame-Options``)."""

from __future__ import annotations

from urllib.parse import urlsplit

from soak.attacks.web_client import (
    OWNER,
    Page,
    bearer,
    client,
    first_room,
    is_problem,
    pages,
    ws_url,
)
from soak.findings import Finding
from soak.server import Server

BIG = 2**63  # one past a signed 64-bit integer: the overflow of issue 14


async def overflow_before(server: Server) -> Finding:
    token = await bearer(server, OWNER)
    room = await first_room(server, token)
    answers: list[str] = []
    bad = 0
    async with client(server, token=token) as http:
        for what in ("chat", "activity"):
            for value in (BIG, 2**31):
                got = await http.get(f"/api/v1/rooms/{room['id']}/{what}", params={"before": value})
                fine = 400 <= got.status_code < 500 and is_problem(got)
                bad += not fine
                code = got.json().get("code", "?") if is_problem(got) else got.text[:40]
                answers.append(
                    f"/{what}?before={'2**63' if value == BIG else '2**31'}: "
                    f"{got.status_code} {code}"
                )
    async with pages() as opened:
        page = Page(ws_url(server, room["invite_url"]))
        opened.append(page)
        await page.open()
        await page.send(type="hello")
        await page.typed("room")
        await page.send(type="chat_history", before=BIG, ref="h")
        reply = await page.expect(lambda m: m.get("ref") == "h")
        await page.send(type="ping", ref="p")
        alive = await page.typed("pong", ref="p") is not None
    if reply is None or reply.get("type") != "error":
        bad += 1
    shown = f"{reply.get('type')} {reply.get('code', '')}" if reply else "no answer"
    answers.append(
        f"socket chat_history before=2**63: {shown}, socket "
        + ("still open" if alive else "closed")
    )
    tracebacks = server.tracebacks()
    bad += tracebacks > 0
    return Finding(
        "GET .../chat?before=9223372036854775808",
        "500 (integer overflow); same on /activity and the socket's chat_history",
        "; ".join(answers) + f" (problem+json); {tracebacks} tracebacks in the log",
        "none" if bad == 0 else "medium",
    )


# ----------------------------------------------------------------------- 4: framing
async def framing(server: Server) -> Finding:
    token = await bearer(server, OWNER)
    room = await first_room(server, token)
    path = urlsplit(room["invite_url"]).path
    async with client(server) as http:
        page = await http.get(path)
        missing = await http.get("/join/no-such-token")
    wanted = {
        "content-security-policy": "frame-ancestors 'none'",
        "x-frame-options": "DENY",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
    }
    shown, bad = [], 0
    for answer in (page, missing):
        for name, must in wanted.items():
            value = answer.headers.get(name, "")
            bad += must.lower() not in value.lower()
        if answer is page:
            csp = answer.headers.get("content-security-policy", "")
            ancestors = next((p.strip() for p in csp.split(";") if "frame-ancestors" in p), "none")
            shown.append(
                f"/join/<token> {answer.status_code}: CSP {ancestors}, X-Frame-Options "
                f"{answer.headers.get('x-frame-options')}, X-Content-Type-Options "
                f"{answer.headers.get('x-content-type-options')}, Referrer-Policy "
                f"{answer.headers.get('referrer-policy')}"
            )
    shown.append(
        f"the 404 page of an unknown token ({missing.status_code}) has "
        + ("the same headers" if bad == 0 else "not all of them")
    )
    return Finding(
        "framing /join/<token>",
        "allowed (no frame-ancestors, no X-Frame-Options)",
        "; ".join(shown),
        "none" if bad == 0 else "medium",
    )
