"""Registration at the trunk (RFC 3261 §10), so that a trunk that only takes calls from
registered accounts lets our dial-out through and can route calls to us
(``CONFERO_SIP_TRUNK_REGISTER``; F-PH1 dial-out, issue 13).

One Call-ID for the life of the registration and a CSeq that grows by one per REGISTER
(§10.2.4), so the registrar sees refreshes of one binding. The binding is refreshed at
half the time the registrar granted (its ``Contact;expires=`` for our contact, else its
``Expires``), answering digest challenges (:mod:`confero.sip.digest`). 423 Interval Too
Brief is retried with the ``Min-Expires`` it asks for; any other failure (a wrong
password: a 401 after our answer, a timeout) is retried after ``retry_seconds``, never in
a loop without a pause. ``stop`` removes the binding (``Expires: 0``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from confero.sip.digest import Credentials, DigestSession
from confero.sip.message import Headers, NameAddr, Request, Response, SipParseError
from confero.sip.transaction import new_branch, new_tag
from confero.sip.transport import Peer
from confero.sip.ua import UserAgent

log = logging.getLogger(__name__)

__all__ = ["Registration"]


class Registration:
    def __init__(
        self,
        ua: UserAgent,
        registrar: Peer,
        credentials: Credentials,
        *,
        domain: str | None = None,
        expires: int = 3600,
        retry_seconds: float = 30.0,
    ) -> None:
        self.ua = ua
        self.registrar = registrar
        self.credentials = credentials
        host, port = registrar.address
        #: the registrar's domain: the Request-URI and the host of our address of record
        self.domain = domain or (host if port == 5060 else f"{host}:{port}")
        self.expires = expires
        self.retry_seconds = retry_seconds
        #: True while the registrar holds our binding
        self.registered = False
        #: seconds the registrar granted at the last success
        self.granted: int | None = None
        #: status of the last final response (408 when nothing answered)
        self.last_status: int | None = None
        self.changed = asyncio.Event()
        self._call_id = f"{new_tag()}{new_tag()}@{ua.public_host}"
        self._tag = new_tag()
        self._cseq = 0
        self._auth = DigestSession(credentials)
        self._task: asyncio.Task[None] | None = None

    @property
    def aor(self) -> str:
        return f"sip:{self.credentials.username}@{self.domain}"

    @property
    def contact(self) -> str:
        return self.ua.contact(self.registrar.transport)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())
            self._task.set_name("sip-registration")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.registered:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self.register(0), 5)

    async def _run(self) -> None:
        expires = self.expires
        while True:
            try:
                response = await self.register(expires)
            except OSError as exc:  # the registrar's address cannot be reached
                log.warning("REGISTER to %s failed: %s", self.registrar.address, exc)
                response = None
            if response is not None and response.status == 423:
                asked = _int(response.headers.get("Min-Expires"))
                if asked is not None and asked > expires:
                    expires = asked
                    continue
            if self.registered and self.granted:
                await asyncio.sleep(max(self.granted / 2, 1.0))
            else:
                await asyncio.sleep(self.retry_seconds)

    async def register(self, expires: int) -> Response:
        """One REGISTER (with its challenge rounds); the final response."""
        response = await self.ua.request_with_auth(
            self._request(expires), self.registrar, self._auth
        )
        self._cseq = max(self._cseq, response.cseq[0] if _has_cseq(response) else 0)
        self.last_status = response.status
        was = self.registered
        if 200 <= response.status < 300:
            self.granted = self._granted(response, expires)
            self.registered = expires > 0 and self.granted > 0
            log.info("registered at %s as %s for %ss", self.domain, self.aor, self.granted)
        else:
            self.registered = False
            self.granted = None
            log.warning(
                "registration at %s as %s refused: %s %s",
                self.domain,
                self.aor,
                response.status,
                response.reason,
            )
        if was != self.registered:
            self.changed.set()
            self.changed = asyncio.Event()
        return response

    def _request(self, expires: int) -> Request:
        self._cseq += 1
        transport = self.registrar.transport
        headers = Headers()
        headers.add(
            "Via",
            f"SIP/2.0/{transport} {self.ua.public_host}:{self.ua.port};branch={new_branch()};rport",
        )
        headers.add("Max-Forwards", "70")
        headers.add("From", f"<{self.aor}>;tag={self._tag}")
        headers.add("To", f"<{self.aor}>")
        headers.add("Call-ID", self._call_id)
        headers.add("CSeq", f"{self._cseq} REGISTER")
        headers.add("Contact", self.contact)
        headers.add("Expires", str(expires))
        headers.add("User-Agent", "Confero")
        return Request(headers, b"", method="REGISTER", uri=f"sip:{self.domain}")

    def _granted(self, response: Response, asked: int) -> int:
        """Our binding's expiry in the 200 (§10.2.4): its Contact's ``expires``, else
        the Expires header, else what we asked."""
        ours = _uri_of(self.contact)
        for value in response.headers.get_all("Contact"):
            try:
                contact = NameAddr.parse(value)
            except (SipParseError, ValueError):
                continue
            if _same_uri(contact.uri, ours):
                seconds = _int(contact.params.get("expires"))
                if seconds is not None:
                    return seconds
        header = _int(response.headers.get("Expires"))
        return header if header is not None else asked


def _has_cseq(response: Response) -> bool:
    try:
        response.cseq  # noqa: B018
    except SipParseError:
        return False
    return True


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _uri_of(name_addr: str) -> str:
    try:
        return NameAddr.parse(name_addr).uri
    except (SipParseError, ValueError):
        return name_addr


def _same_uri(a: str, b: str) -> bool:
    def key(uri: str) -> str:
        return uri.split(";")[0].lower()

    return key(a) == key(b)
