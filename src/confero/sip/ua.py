"""The user agent core (RFC 3261 §8, §13-15): calls in and out, without media.

It answers what needs no application: OPTIONS (a proxy's health check) with 200, a
request for a dialog we do not know with 481, methods we know but do not take with 405
and an ``Allow`` header, methods we do not know with 501, an unknown ``Require`` with
420, a body that is not SDP with 415. Everything about one call (ringing, answer, the
ACK, BYE both ways, CANCEL, re-INVITE for hold, INFO digits) lives in ``SipCall``; the
phone layer decides what to do with the call through its callbacks.

Late offer (RFC 3261 13.2.1 and 13.3.1.4, RFC 3264; F-PH1, issue 13): an INVITE
without SDP (linphone's ``sdp_200_ack``, many PBXs and trunks) is taken like any other;
the phone layer's SDP then goes in our 200 as the *offer* and the ACK carries the answer
(``on_answer``). An ACK without a usable answer ends the call with BYE, as 13.3.1.4
says for an answer the UAS cannot take. A re-INVITE without SDP gets our current offer
(``make_offer``) in the 200 and its ACK carries the answer the same way (hold/resume).

Admission (issue 14): a new INVITE becomes a call only if ``admission``
(sip/admission.py) lets it; a refused one gets one stateless 503 or 403 with
Retry-After and costs nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from confero.sip.admission import Refusal, SipAdmission
from confero.sip.dialog import Dialog
from confero.sip.digest import Credentials, DigestSession
from confero.sip.info_dtmf import InfoDtmfError, parse_info_body
from confero.sip.message import (
    Headers,
    NameAddr,
    Request,
    Response,
    SipParseError,
    SipUri,
    split_list,
)
from confero.sip.source import Trusted, caller_host, nobody
from confero.sip.transaction import (
    ClientTransaction,
    InviteServerTransaction,
    ServerTransaction,
    Timers,
    TransactionLayer,
    new_branch,
    new_tag,
)
from confero.sip.transport import Peer, SipTransport

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO"
_KNOWN_ELSEWHERE = frozenset(
    {"REGISTER", "SUBSCRIBE", "NOTIFY", "MESSAGE", "REFER", "PRACK", "UPDATE", "PUBLISH"}
)
USER_AGENT = "Confero"
BYE_TIMEOUT = 5.0


class SipCall:
    """One call's signalling. Callbacks are set by whoever takes the call."""

    def __init__(self, ua: UserAgent, invite: Request, peer: Peer, *, incoming: bool) -> None:
        self.ua = ua
        self.invite = invite
        self.peer = peer
        self.incoming = incoming
        #: the caller's address (the peer's, or the hop before a trusted proxy: issue 16)
        self.source = (
            caller_host(invite.vias, peer.address[0], ua.trusted_proxy)
            if incoming
            else peer.address[0]
        )
        self.local_tag = new_tag() if incoming else (invite.from_.tag or new_tag())
        self.dialog: Dialog | None = None
        self.state = "ringing"
        self.end_reason: str | None = None
        self.ended = asyncio.Event()
        #: set once the dialog is confirmed (the caller's ACK; our ACK when we called):
        #: no media leaves before it (issue 14: no reflection toward an unproven address)
        self.confirmed = asyncio.Event()
        self.server_txn: InviteServerTransaction | None = None
        self.client_txn: ClientTransaction | None = None
        #: the remote SDP (offer of an incoming call, answer of an outgoing one)
        self.remote_sdp: bytes = invite.body if incoming else b""
        self.on_digit: Callable[[str], None] | None = None
        #: a re-INVITE's offer -> our answer, or None for 488
        self.on_offer: Callable[[bytes], bytes | None] | None = None
        #: our current offer, for a re-INVITE without SDP (late offer); None: 488
        self.make_offer: Callable[[], bytes] | None = None
        #: the answer (in an ACK) to the offer we sent in a 200 -> whether we can take it
        self.on_answer: Callable[[bytes], bool] | None = None
        #: the INVITE had no SDP: the 200 carries our offer, the ACK its answer
        self.late_offer = incoming and not invite.body
        self.on_end: Callable[[str], None] | None = None
        self._bye_task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ who
    @property
    def caller(self) -> str:
        """The calling number (the From user part), for PIN rate limits and display."""
        try:
            uri = SipUri.parse(self.invite.from_.uri)
            return uri.user or uri.host
        except SipParseError:
            return self.peer.address[0]

    @property
    def called(self) -> str:
        """The number dialled (the Request-URI user part)."""
        try:
            return SipUri.parse(self.invite.uri).user or ""
        except SipParseError:
            return ""

    @property
    def call_id(self) -> str:
        return self.invite.call_id

    # ------------------------------------------------------------------ incoming
    def ring(self) -> None:
        if self.server_txn is not None and self.state == "ringing":
            self.server_txn.reply(180, to_tag=self.local_tag)

    def answer(self, sdp: bytes) -> None:
        txn = self.server_txn
        if txn is None or self.state != "ringing" or txn.state != "proceeding":
            return
        contact = self.ua.contact(self.peer.transport)
        self.dialog = Dialog.as_uas(self.invite, self.peer, self.local_tag, contact)
        self.state = "answered"
        self.ua._dialogs[self.dialog.id] = self
        txn.on_ack = self._acked
        txn.on_no_ack = self._no_ack
        txn.reply(
            200,
            to_tag=self.local_tag,
            extra=[*self.ua.common_headers(contact), ("Content-Type", "application/sdp")],
            body=sdp,
        )

    def reject(self, status: int, reason: str | None = None) -> None:
        txn = self.server_txn
        if txn is not None and txn.state == "proceeding":
            txn.reply(status, reason, to_tag=self.local_tag)
        self._end("rejected")

    def _confirmed(self) -> None:
        if self.state == "answered":
            self.state = "confirmed"
            self.confirmed.set()
            self.ua._pending.pop(self, None)
            if self.incoming and self.ua.admission is not None:
                self.ua.admission.confirmed(self.source)

    def _acked(self, ack: Request) -> None:
        self._confirmed()
        if self.late_offer:
            self._take_answer(ack)

    def _take_answer(self, ack: Request) -> None:
        """The ACK of a 200 that carried our offer carries the answer (RFC 3264 4)."""
        if self.state == "ended":
            return
        body = ack.body if ack.content_type == "application/sdp" else b""
        taken = bool(body) and self.on_answer is not None and self.on_answer(body)
        if not taken:
            log.info("call %s: no usable SDP answer in the ACK", self.call_id)
            self.hangup("no_answer")  # 13.3.1.4: an answer we cannot take ends in BYE
            return
        self.remote_sdp = body

    def give_up(self) -> None:
        """Dropped before its ACK to make room for a new caller (sip/admission.py): as
        timer H, but without a BYE to an address that never showed it hears us."""
        if self.server_txn is not None:
            self.server_txn.terminate()
        self._end("no_ack")

    def _no_ack(self) -> None:
        """§13.3.1.4: no ACK for our 2xx: the call is dead; say BYE to be sure."""
        log.info("no ACK for call %s", self.call_id)
        self.hangup("no_ack")

    def _cancelled(self) -> None:
        if self.state == "ringing":
            self._end("cancelled")

    # ------------------------------------------------------------------ in the dialog
    def in_dialog(self, txn: ServerTransaction) -> None:
        request = txn.request
        assert self.dialog is not None
        if not self.dialog.accepts(request):
            txn.reply(500, "CSeq out of order")
            return
        method = request.method
        if method == "BYE":
            txn.reply(200)
            self._end("bye")
        elif method == "INFO":
            self._info(txn)
        elif method == "INVITE":
            self._reinvite(txn)
        elif method == "OPTIONS":
            txn.reply(200, extra=[("Allow", ALLOW)])
        elif method in _KNOWN_ELSEWHERE:
            txn.reply(405, extra=[("Allow", ALLOW)])
        else:
            txn.reply(501)

    def _info(self, txn: ServerTransaction) -> None:
        request = txn.request
        if not request.body:
            txn.reply(200)  # an empty INFO is a keep-alive some phones send
            return
        try:
            relay = parse_info_body(request.content_type, request.body)
        except InfoDtmfError as exc:
            if request.content_type in ("application/dtmf-relay", "application/dtmf"):
                txn.reply(400, f"Bad Request ({exc})"[:100])
            else:
                txn.reply(415, extra=[("Accept", "application/dtmf-relay, application/dtmf")])
            return
        txn.reply(200)
        if self.on_digit is not None and self.state in ("answered", "confirmed"):
            self.on_digit(relay.signal)

    def _reinvite(self, txn: ServerTransaction) -> None:
        request = txn.request
        assert isinstance(txn, InviteServerTransaction) and self.dialog is not None
        if request.body and request.content_type != "application/sdp":
            txn.reply(415, extra=[("Accept", "application/sdp")])
            return
        if request.body:
            body = self.on_offer(request.body) if self.on_offer else None
        else:  # late offer: our current offer in the 200, the answer in the ACK
            body = self.make_offer() if self.make_offer else None
            txn.on_ack = self._take_answer
        if body is None:
            txn.on_ack = None
            txn.reply(488, "Not Acceptable Here (no offer we can take)")
            return
        if request.body:
            self.remote_sdp = request.body
        contact = self.dialog.local_contact
        txn.reply(
            200,
            extra=[*self.ua.common_headers(contact), ("Content-Type", "application/sdp")],
            body=body,
        )

    # ------------------------------------------------------------------ ending
    def hangup(self, reason: str = "local") -> None:
        """End the call from our side: BYE when answered, 480 while still ringing."""
        if self.state == "ended":
            return
        if self.state == "ringing":
            if self.incoming:
                self.reject(480, "Temporarily Unavailable")
            else:
                self.ua._cancel_outgoing(self)
            self._end(reason)
            return
        if self.dialog is not None:
            bye = self.dialog.request("BYE")
            txn = self.ua.transactions.request(bye, self.dialog.peer)
            self._bye_task = asyncio.ensure_future(_await_quietly(txn.final, BYE_TIMEOUT))
            self.ua._track(self._bye_task)
        self._end(reason)

    def _end(self, reason: str) -> None:
        if self.state == "ended":
            return
        self.state = "ended"
        self.end_reason = reason
        # the transactions call back into this call: let go of them, so the two are not a
        # cycle that only the cycle collector frees (issue 14, confero/heap.py)
        self.server_txn = self.client_txn = None
        if self.dialog is not None:
            self.ua._dialogs.pop(self.dialog.id, None)
        self.ua._forget(self)
        self.ended.set()
        if self.on_end is not None:
            try:
                self.on_end(reason)
            except Exception:
                log.exception("on_end failed for call %s", self.call_id)


async def _await_quietly(fut: asyncio.Future[Response], seconds: float) -> None:
    with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
        await asyncio.wait_for(asyncio.shield(fut), seconds)


IncomingHandler = Callable[[SipCall], None]


class UserAgent:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        timers: Timers | None = None,
        public_host: str | None = None,
    ) -> None:
        self.transport = SipTransport(host, port, lambda message, peer: None)
        self.transactions = TransactionLayer(self.transport, timers)
        self.transactions.on_request = self._request
        self.transactions.on_stray_response = self._stray_response
        self.public_host = public_host or host
        #: the phone layer takes every new call here; it must ring, answer or reject
        self.on_invite: IncomingHandler | None = None
        self._dialogs: dict[tuple[str, str, str], SipCall] = {}
        self._calls: set[SipCall] = set()
        #: incoming calls not yet ACKed, oldest first (admission drops the oldest)
        self._pending: dict[SipCall, None] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: admission control of new INVITEs (issue 14); None: every INVITE is taken
        self.admission: SipAdmission | None = None
        #: hears every INVITE refused by admission or taken by nobody (issue 18)
        self.on_refused: Callable[[Refusal], None] | None = None
        #: proxies whose Vias name the caller (sip/source.py; issue 16: Kamailio)
        self.trusted_proxy: Trusted = nobody

    async def start(self, *, tcp: bool = True) -> None:
        await self.transport.start(tcp=tcp)

    async def stop(self) -> None:
        for call in list(self._calls):
            call.hangup("shutdown")
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=BYE_TIMEOUT)
        self.transactions.close()
        await self.transport.stop()

    @property
    def port(self) -> int:
        return self.transport.port

    @property
    def listening(self) -> bool:
        """SIP is open for calls (the readiness probe, issue 18)."""
        return self.transport.listening

    @property
    def calls(self) -> int:
        return len(self._calls)

    def contact(self, transport: str = "UDP") -> str:
        suffix = "" if transport == "UDP" else f";transport={transport.lower()}"
        return f"<sip:confero@{self.public_host}:{self.port}{suffix}>"

    def common_headers(self, contact: str) -> list[tuple[str, str]]:
        return [("Contact", contact), ("Allow", ALLOW), ("Server", USER_AGENT)]

    def _forget(self, call: SipCall) -> None:
        self._pending.pop(call, None)
        if call in self._calls:
            self._calls.discard(call)
            if call.incoming and self.admission is not None:
                confirmed = call.confirmed.is_set()
                self.admission.ended(call.source, confirmed=confirmed)

    def _drop_oldest_unacked(self) -> None:
        """The calls waiting for their ACK hold their half of the places: the oldest
        answered one goes (its source had a whole round trip and more to ACK)."""
        oldest = next((c for c in self._pending if c.state == "answered"), None)
        if oldest is not None:
            log.info("call %s dropped before its ACK: pending calls full", oldest.call_id)
            oldest.give_up()

    def _track(self, task: asyncio.Task[None]) -> None:
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ inbound
    def _request(self, txn: ServerTransaction) -> None:
        request = txn.request
        scheme = request.uri.partition(":")[0].lower()
        if scheme not in ("sip", "sips", "tel"):
            txn.reply(416)
            return
        unsupported = [
            ext for value in request.headers.get_all("Require") for ext in split_list(value)
        ]
        if unsupported and request.method not in ("ACK", "CANCEL"):
            txn.reply(420, extra=[("Unsupported", ", ".join(unsupported))])
            return
        if request.to.tag is not None:
            call = self._dialogs.get((request.call_id, request.to.tag, request.from_.tag or ""))
            if call is None:
                txn.reply(481)
            else:
                call.in_dialog(txn)
            return
        if request.method == "INVITE":
            self._invite(txn)
        elif request.method == "OPTIONS":
            txn.reply(
                200,
                extra=[
                    ("Allow", ALLOW),
                    ("Accept", "application/sdp"),
                    ("Server", USER_AGENT),
                ],
            )
        elif request.method in ("BYE", "INFO"):
            txn.reply(481)
        elif request.method in _KNOWN_ELSEWHERE:
            txn.reply(405, extra=[("Allow", ALLOW)])
        else:
            txn.reply(501)

    def _invite(self, txn: ServerTransaction) -> None:
        assert isinstance(txn, InviteServerTransaction)
        request = txn.request
        if request.body and request.content_type != "application/sdp":
            txn.reply(415, extra=[("Accept", "application/sdp")])
            return
        source = caller_host(request.vias, txn.peer.address[0], self.trusted_proxy)
        refusal = self.admission.check(source) if self.admission is not None else None
        if refusal is not None:  # stateless (RFC 3261 8.2.7): one answer, no retransmits
            if self.on_refused is not None:
                self.on_refused(refusal)
            txn.reply(
                refusal.status,
                refusal.reason,
                to_tag=new_tag(),
                extra=[("Retry-After", str(refusal.retry_after)), ("Server", USER_AGENT)],
            )
            txn.terminate()
            return
        if self.admission is not None and self.admission.pending_full():
            self._drop_oldest_unacked()
        # no body: a late offer (the phone layer's SDP in our 200 is the offer)
        call = SipCall(self, request, txn.peer, incoming=True)
        call.server_txn = txn
        txn.on_cancel = call._cancelled
        if self.on_invite is None:
            txn.reply(480)
            return
        self._calls.add(call)
        self._pending[call] = None
        if self.admission is not None:
            self.admission.started(source)
        try:
            self.on_invite(call)
        except Exception:
            log.exception("taking call %s failed", call.call_id)
            call.reject(500)

    def _stray_response(self, response: Response, peer: Peer) -> None:
        """A repeated 2xx to our INVITE: its ACK got lost, send it again (§13.2.2.4)."""
        if response.status < 200 or response.status >= 300:
            return
        try:
            number, method = response.cseq
            key = (response.call_id, response.from_.tag or "", response.to.tag or "")
        except SipParseError:
            return
        call = self._dialogs.get(key)
        if method == "INVITE" and call is not None and call.dialog is not None:
            self.transactions.send_stateless(call.dialog.ack(number), call.dialog.peer)

    # ------------------------------------------------------------------ outbound
    async def call(
        self,
        target: str,
        peer: Peer,
        sdp: bytes,
        *,
        from_user: str = "confero",
        display: str | None = None,
        on_ringing: Callable[[], None] | None = None,
        credentials: Credentials | None = None,
        extra_headers: tuple[tuple[str, str], ...] = (),
    ) -> SipCall:
        """Dial out (``*8``); returns when answered or failed (``state`` tells).
        ``extra_headers`` go in the INVITE as they are (a relayed call's ``X-Confero-Admit``).

        With ``credentials`` a 401/407 is answered once per realm (digest, RFC 8760;
        ``stale=true`` once more) by the same INVITE with CSeq + 1 and a new branch; a
        challenge we cannot answer, or a second one, ends the call with its status."""
        contact = self.contact(peer.transport)
        headers = Headers()
        headers.add(
            "Via",
            f"SIP/2.0/{peer.transport} {self.public_host}:{self.port};branch={new_branch()};rport",
        )
        headers.add("Max-Forwards", "70")
        origin = NameAddr(f"sip:{from_user}@{self.public_host}", display, {"tag": new_tag()})
        headers.add("From", str(origin))
        headers.add("To", f"<{target}>")
        headers.add("Call-ID", f"{new_tag()}{new_tag()}@{self.public_host}")
        headers.add("CSeq", "1 INVITE")
        for name, value in (*self.common_headers(contact), *extra_headers):
            headers.add(name, value)
        headers.add("Content-Type", "application/sdp")
        invite = Request(headers, sdp, method="INVITE", uri=target)
        call = SipCall(self, invite, peer, incoming=False)
        self._calls.add(call)

        def provisional(response: Response) -> None:
            if response.status in (180, 183) and on_ringing is not None:
                on_ringing()

        auth = DigestSession(credentials) if credentials is not None else None
        while True:
            txn = self.transactions.request(invite, peer, on_provisional=provisional)
            call.client_txn = txn
            final = await txn.final  # a non-2xx is ACKed by the transaction itself
            retry = auth.retry(invite, final) if auth is not None else None
            if retry is None or call.state == "ended":
                break
            invite = call.invite = retry  # same Call-ID and From tag (§22.2)
        number = invite.cseq[0]
        if call.state == "ended":
            if 200 <= final.status < 300:  # answered just as we gave up: ACK, then BYE
                call.dialog = Dialog.as_uac(invite, final, peer)
                self.transactions.send_stateless(call.dialog.ack(number), peer)
                call.state = "confirmed"
                reason = call.end_reason or "local"
                call.hangup(reason)
            return call
        if not 200 <= final.status < 300:
            call.end_reason = f"{final.status}"
            call._end(f"failed:{final.status}")
            return call
        call.dialog = Dialog.as_uac(invite, final, peer)
        call.remote_sdp = final.body
        self._dialogs[call.dialog.id] = call
        self.transactions.send_stateless(call.dialog.ack(number), peer)
        call.state = "confirmed"
        call.confirmed.set()
        return call

    async def request_with_auth(
        self, request: Request, peer: Peer, auth: DigestSession | None
    ) -> Response:
        """A non-INVITE request (REGISTER) and its final response, answering digest
        challenges as :meth:`call` does; ``request`` is signed with ``auth``'s current
        answers first (a refresh re-uses the nonce, nc + 1)."""
        if auth is not None:
            auth.sign(request)
        while True:
            # shielded: a registration stopped mid-request leaves the transaction whole
            final = await asyncio.shield(self.transactions.request(request, peer).final)
            retry = auth.retry(request, final) if auth is not None else None
            if retry is None:
                if auth is not None and 200 <= final.status < 300:
                    auth.accepted()
                return final
            request = retry

    def _cancel_outgoing(self, call: SipCall) -> None:
        txn = call.client_txn
        if txn is None or txn.final.done():
            return
        invite = call.invite
        headers = Headers()
        headers.add("Via", invite.headers.get("Via") or "")
        headers.add("Max-Forwards", "70")
        headers.add("From", invite.headers.get("From") or "")
        headers.add("To", invite.headers.get("To") or "")
        headers.add("Call-ID", invite.call_id)
        headers.add("CSeq", f"{invite.cseq[0]} CANCEL")
        cancel = Request(headers, b"", method="CANCEL", uri=invite.uri)
        self.transactions.request(cancel, call.peer)
