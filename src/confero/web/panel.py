"""The host panel (F-RS8, F-RS7): My rooms, Reservations, Accounts, the SMS outbox
(F-RS6: what would have gone out while no SMS gateway is configured) and Settings.

The pages are shells the ES modules under ``static/js/panel-*.js`` fill from the REST
API with the session cookie; the server renders every fixed label so the page reads
right before its JavaScript runs. The form's rule hints need the server's clock (the
server decides, the browser's clock may be wrong), so the page carries ``now``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from confero.domain import errors
from confero.domain import reservations as rules
from confero.domain.accounts import MIN_PASSWORD, Account
from confero.domain.rooms import MAX_NAME_LENGTH
from confero.web import i18n
from confero.web.deps import ServicesDep
from confero.web.pages import (
    PEOPLE_CONFIG,
    language_links,
    page_language,
    render,
    signed_in,
)

router = APIRouter(include_in_schema=False)

#: The panel's pages, in the order of the navigation; ``True`` = administrators only.
PAGES: dict[str, bool] = {
    "rooms": False,
    "people": False,
    "reservations": False,
    "accounts": True,
    "sms": True,
    "settings": False,
}

#: Texts outside the ``panel_`` block the panel's scripts use too.
_SHARED_TEXTS = ("sign_out", "cancel", "close", "signed_in_as")
#: The blocks of static/js/people.js (calls, presence, members), on every panel page.
PEOPLE_PREFIXES = ("people_", "call_", "member_")


def _minutes(delta: Any) -> int:
    return int(delta.total_seconds() // 60)


def _rules() -> dict[str, int]:
    """The booking rules of seed 004, for the form's hints and the browser's checks."""
    return {
        "min_lead_minutes": _minutes(rules.MIN_LEAD),
        "max_lead_days": rules.MAX_LEAD.days,
        "max_length_days": rules.MAX_LENGTH.days,
        "max_active": rules.MAX_ACTIVE,
    }


def panel_texts(lang: str) -> dict[str, str]:
    """The panel's own texts, the shared ones and every error text of the registry."""
    texts = i18n.texts(lang)
    wanted = set(_SHARED_TEXTS) | set(errors.page_texts().values())
    prefixes = ("panel_", *PEOPLE_PREFIXES)
    return {k: v for k, v in texts.items() if k.startswith(prefixes) or k in wanted}


def nav_links(request: Request, account: Account, current: str) -> list[dict[str, Any]]:
    """The panel's navigation; ``?lang=`` travels along when the visitor chose one."""
    lang = request.query_params.get("lang")
    suffix = f"?lang={quote(lang, safe='')}" if lang and lang.lower() in i18n.LANGUAGES else ""
    return [
        {"page": page, "href": f"/{page}{suffix}", "current": page == current}
        for page, admin_only in PAGES.items()
        if account.is_admin or not admin_only
    ]


def _account_config(account: Account) -> dict[str, Any]:
    return {
        "id": account.id,
        "email": account.email,
        "display_name": account.display_name,
        "is_admin": account.is_admin,
        "time_zone": account.time_zone,
    }


def _to_signin(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(
        f"/signin?next={quote(target, safe='')}",
        status_code=303,
        headers={"Cache-Control": "no-store"},
    )


async def _page(request: Request, svc: ServicesDep, page: str) -> Response:
    account = await signed_in(request, svc)
    if account is None:
        return _to_signin(request)
    lang = page_language(request)
    texts = i18n.texts(lang)
    common: dict[str, Any] = {
        "lang": lang,
        "t": texts,
        "account": account,
        "nav": nav_links(request, account, page),
        "languages": language_links(request, lang),
    }
    if PAGES[page] and not account.is_admin:
        return render("panel_forbidden.html", status_code=403, page=page, **common)
    config: dict[str, Any] = {
        "lang": lang,
        "page": page,
        "account": _account_config(account),
        # The server's clock: the booking rules count from it, not from the browser's.
        "now": svc.clock.now().isoformat(),
        "rules": _rules(),
        "max_capacity": svc.rooms.policy.max_capacity,
        "max_room_name": MAX_NAME_LENGTH,
        "min_password": MIN_PASSWORD,
        "languages": i18n.language_names(),
        "texts": panel_texts(lang),
        # Error code -> text key from the one error registry: the scripts copy no codes.
        "errors": errors.page_texts(),
        # The people socket (static/js/people.js): presence, calls, call everyone.
        "people": dict(PEOPLE_CONFIG),
    }
    if page == "sms":
        # Outbox (no CONFERO_SMS_URL) or a real gateway: the page says which.
        config["sms_outbox"] = svc.sms_outbox
    return render(f"panel_{page}.html", page=page, config=config, **common)


def _page_route(page: str) -> Callable[[Request, ServicesDep], Awaitable[Response]]:
    async def show(request: Request, svc: ServicesDep) -> Response:
        return await _page(request, svc, page)

    return show


# One GET route a page, in the navigation's order: /rooms, /reservations, ...
for _page_name in PAGES:
    router.add_api_route(
        f"/{_page_name}",
        _page_route(_page_name),
        methods=["GET"],
        response_class=HTMLResponse,
        name=f"{_page_name}_page",
    )
