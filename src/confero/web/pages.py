"""The browser's pages: start page, sign-in, and the room page behind an invite link.

Server-rendered Jinja2 plus plain ES modules, no build step. The server picks the language
and renders every fixed label, so a page reads right before its JavaScript runs; the
texts the JavaScript needs later travel in one JSON block. Nothing secret goes into a
page: the session cookie is HttpOnly and stays out of it, the only token in the room
page is the invite token that is already in its address, and the access data it shows
(F-WB6) is what the link's holder may pass on: the participant PIN, never the admin PIN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from confero import __version__
from confero.app import contract
from confero.domain import errors
from confero.domain.accounts import Account
from confero.domain.content import MAX_CHAT_TEXT
from confero.domain.participant import MAX_DISPLAY_NAME
from confero.domain.rooms import Room
from confero.web import i18n, limits
from confero.web.deps import SESSION_COOKIE, ServicesDep

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"

router = APIRouter(include_in_schema=False)

_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    # A misspelt text key must fail loudly in the tests, not render as an empty label.
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)

#: The pages load only their own scripts and styles, and no site frames them: the one
#: policy of every answer (web/limits.py, issue 14).
_CSP = limits.CSP

#: The people socket every signed-in page opens (presence and calls, F-WB3, F-WB4):
#: static/js/people.js reads it from the page's config.
PEOPLE_CONFIG: dict[str, str] = {"ws_path": "/ws/v1/people"}

_HEADERS = {
    "Content-Security-Policy": _CSP,
    # The room page's address holds the invite token: never send it on as a referrer.
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    # Pages show who is signed in: no shared cache may keep them.
    "Cache-Control": "no-store",
}


def install(app: FastAPI) -> None:
    """Serve the static files under ``/static`` and the pages (called by ``create_app``)."""
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(router)


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    html = _env.get_template(name).render(version=__version__, **context)
    return HTMLResponse(html, status_code=status_code, headers=_HEADERS)


def page_language(request: Request, room_language: str | None = None) -> str:
    return i18n.choose_language(
        request.query_params.get("lang"),
        room_language,
        request.headers.get("accept-language"),
    )


async def signed_in(request: Request, svc: ServicesDep) -> Account | None:
    """The account behind the session cookie, if any (the panel's sign-in)."""
    token = request.cookies.get(SESSION_COOKIE)
    return await svc.accounts.resolve_token(token) if token else None


def safe_next(value: str | None) -> str:
    """Only a path on this site: ``//evil.example`` or ``https://...`` would make the
    sign-in page an open redirect."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    if any(ch in value for ch in "\r\n\t"):
        return "/"
    return value


def language_links(request: Request, lang: str) -> list[dict[str, Any]]:
    """The language switch: the same page with ``?lang=``, other parameters kept."""
    links = []
    for code, label in i18n.language_names().items():
        params = dict(request.query_params)
        params["lang"] = code
        query = urlencode(params)
        href = f"{request.url.path}?{query}"
        links.append({"code": code, "label": label, "href": href, "current": code == lang})
    return links


@router.get("/", response_class=HTMLResponse)
async def index(request: Request, svc: ServicesDep) -> HTMLResponse:
    account = await signed_in(request, svc)
    lang = page_language(request)
    return render(
        "index.html",
        lang=lang,
        t=i18n.texts(lang),
        account=account,
        languages=language_links(request, lang),
    )


@router.get("/signin", response_class=HTMLResponse)
async def signin(request: Request, svc: ServicesDep) -> HTMLResponse:
    account = await signed_in(request, svc)
    lang = page_language(request)
    texts = i18n.texts(lang)
    next_url = safe_next(request.query_params.get("next"))
    config = {
        "lang": lang,
        "next": next_url,
        "texts": {k: texts[k] for k in ("signin_failed", "signin_rate_limited", "signin_error")},
    }
    return render(
        "signin.html",
        lang=lang,
        t=texts,
        account=account,
        next_url=next_url,
        config=config,
        languages=language_links(request, lang),
    )


def invitation(
    room: Room, account: Account | None, base_url: str, access_number: str
) -> dict[str, Any]:
    """What the meeting's Invite dialog shows (F-WB6, seed 002 "Person einladen"): the
    link, the dial-in number, conference number and participant PIN, which every
    visitor of the link may see; never the admin PIN. A signed-in account with a role
    in the room may also send the invitation by mail (the room id is for that call)."""
    can_mail = account is not None and room.role_for_account(account.id) is not None
    return {
        "link": f"{base_url}/join/{room.invite_token}",
        "dial_in_number": access_number,
        "conference_number": room.conference_number,
        "pin": room.pin,
        "can_mail": can_mail,
        "room_id": room.id if can_mail else None,
    }


def room_config(room: Room, account: Account | None) -> dict[str, Any]:
    """What the room page knows of its room. ``kind`` "call" makes the page a 1:1 call
    (F-WB3: "Hang up", no invitations); ``has_members`` and the id (only for an account
    with a role in the room, as the REST API would show it) let a moderator call the
    members to the meeting (F-WB4)."""
    role = room.role_for_account(account.id) if account is not None else None
    return {
        "name": room.name,
        "language": room.language.value,
        "kind": str(room.kind),
        # A call room's member is the callee: nobody to call "to the meeting" there.
        "has_members": bool(room.members) and not room.is_call,
        "id": room.id if role is not None else None,
    }


@router.get("/join/{invite_token}", response_class=HTMLResponse)
async def join(invite_token: str, request: Request, svc: ServicesDep) -> HTMLResponse:
    """The room page: prejoin, lobby, meeting and the ended screen, driven by
    ``static/js/main.js`` over the WebSocket of docs/SIGNALING.md."""
    room = await svc.rooms.by_invite_token(invite_token) if len(invite_token) <= 200 else None
    if room is None:
        lang = page_language(request)
        return render(
            "not_found.html",
            status_code=404,
            lang=lang,
            t=i18n.texts(lang),
            languages=language_links(request, lang),
        )
    account = await signed_in(request, svc)
    lang = page_language(request, room.language.value)
    texts = i18n.texts(lang)
    path = f"/join/{quote(invite_token, safe='')}"
    config: dict[str, Any] = {
        "invite": invite_token,
        "ws_path": f"/ws/v1{path}",
        "lang": lang,
        "room": room_config(room, account),
        "account": {"display_name": account.display_name} if account else None,
        "signin_url": f"/signin?next={quote(path, safe='')}",
        "max_name": MAX_DISPLAY_NAME,
        "max_chat": MAX_CHAT_TEXT,
        # STUN/TURN servers for the peer connections (CONFERO_ICE_SERVERS); none needed
        # when the server is reachable directly (it answers with its host candidates).
        "ice_servers": getattr(request.app.state, "ice_servers", []),
        "texts": texts,
        # Error code -> text key from the one error registry: the scripts copy no codes.
        "errors": errors.page_texts(),
        # Codes after which a failed resumed join is final (the registry's final_for_join).
        "final_join_errors": errors.final_join_codes(),
        # The commands the socket takes (the one command contract): the scripts send no other.
        "commands": sorted(contract.NAMES),
        "invitation": invitation(room, account, svc.base_url, svc.access_number),
    }
    if account is not None:
        # Presence, calls and "call everyone" (static/js/people.js); guests see none.
        config["people"] = dict(PEOPLE_CONFIG)
    return render(
        "join.html",
        lang=lang,
        t=texts,
        room=room,
        account=account,
        max_name=MAX_DISPLAY_NAME,
        max_chat=MAX_CHAT_TEXT,
        config=config,
        languages=language_links(request, lang),
    )
