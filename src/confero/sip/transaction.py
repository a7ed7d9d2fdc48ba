"""SIP transactions (RFC 3261 §17, with RFC 6026's "accepted" state for 2xx to INVITE).

Server side: INVITE (100 Trying at once, the last response repeated when the INVITE is
repeated, non-2xx repeated on timer G until the ACK or timer H, 2xx repeated on the
same schedule until its ACK, which arrives in a transaction of its own and is matched by
Call-ID and CSeq) and non-INVITE (the final response repeated on a repeated request
until timer J). CANCEL finds its INVITE by branch (§9.2).

Client side: INVITE (timer A repeats, timer B gives up and reports 408, the ACK for a
non-2xx is ours) and non-INVITE (timers E and F).

Timers are ``loop.call_later`` handles owned by their transaction, cancelled when it
ends, so a finished call leaves nothing scheduled behind.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from confero.sip.message import (
    Headers,
    Message,
    Request,
    Response,
    SipParseError,
    make_response,
)
from confero.sip.transport import Peer, SipTransport

MAGIC = "z9hG4bK"


@dataclass(frozen=True)
class Timers:
    t1: float = 0.5
    t2: float = 4.0
    t4: float = 5.0

    @property
    def b(self) -> float:
        return 64 * self.t1


def new_branch() -> str:
    return MAGIC + secrets.token_hex(10)


def new_tag() -> str:
    return secrets.token_hex(8)


def _server_key(request: Request) -> tuple[str, ...]:
    via = request.top_via
    method = "INVITE" if request.method in ("ACK", "CANCEL") else request.method
    branch = via.branch or ""
    if branch.startswith(MAGIC):
        host, port = via.sent_by
        return ("b", branch, host, str(port), method)
    # RFC 2543 peers: no usable branch, fall back to the dialog identifiers (§17.2.3)
    number, _ = request.cseq
    return ("c", request.call_id, request.from_.tag or "", str(number), method)


class ServerTransaction:
    def __init__(self, layer: TransactionLayer, request: Request, peer: Peer) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.key = _server_key(request)
        self.last: Response | None = None
        self.terminated = False
        self._timer: asyncio.TimerHandle | None = None

    @property
    def reliable(self) -> bool:
        return self.peer.transport != "UDP"

    def respond(self, response: Response) -> None:
        if self.terminated:
            return
        self.last = response
        self.layer.transport.send(response, self.peer)
        if response.status >= 200:
            self._final(response)

    def reply(self, status: int, reason: str | None = None, **kwargs: object) -> Response:
        response = make_response(self.request, status, reason, **kwargs)  # type: ignore[arg-type]
        self.respond(response)
        return response

    def _final(self, response: Response) -> None:
        self._later(0 if self.reliable else self.layer.timers.b, self.terminate)

    def retransmitted(self) -> None:
        if self.last is not None:
            self.layer.transport.send(self.last, self.peer)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, callback)

    def terminate(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.terminated:
            self.terminated = True
            self.layer._forget_server(self)


class InviteServerTransaction(ServerTransaction):
    def __init__(self, layer: TransactionLayer, request: Request, peer: Peer) -> None:
        super().__init__(layer, request, peer)
        self.state = "proceeding"
        self.on_cancel: Callable[[], None] | None = None
        #: called when neither the 2xx nor a non-2xx got its ACK (timer H)
        self.on_no_ack: Callable[[], None] | None = None
        self.on_ack: Callable[[Request], None] | None = None
        self._interval = layer.timers.t1
        self._deadline = 0.0

    def _final(self, response: Response) -> None:
        self.state = "accepted" if response.status < 300 else "completed"
        loop = asyncio.get_running_loop()
        self._deadline = loop.time() + self.layer.timers.b
        if self.reliable and self.state == "completed":
            self._later(self.layer.timers.b, self._timeout)
            return
        self._interval = self.layer.timers.t1
        self._later(self._interval, self._repeat)

    def _repeat(self) -> None:
        """Timer G (and the UAS core's 2xx repeat, §13.3.1.4)."""
        if self.terminated or self.last is None:
            return
        if asyncio.get_running_loop().time() >= self._deadline:
            self._timeout()
            return
        self.layer.transport.send(self.last, self.peer)
        self._interval = min(2 * self._interval, self.layer.timers.t2)
        self._later(self._interval, self._repeat)

    def _timeout(self) -> None:
        """Timer H: the ACK never came."""
        callback = self.on_no_ack if self.state == "accepted" else None
        self.terminate()
        if callback is not None:
            callback()

    def acked(self, ack: Request) -> None:
        if self.state == "accepted" and not self._answers_our_2xx(ack):
            return  # a blind ACK (issue 14's rerun): dropped, the 2xx keeps repeating
        if self.state in ("completed", "accepted"):
            accepted = self.state == "accepted"
            self.state = "confirmed"
            # Timer I absorbs repeated ACKs; after a 2xx the ACKs are matched by dialog
            self._later(0 if self.reliable else self.layer.timers.t4, self.terminate)
            if accepted and self.on_ack is not None:
                self.on_ack(ack)

    def _answers_our_2xx(self, ack: Request) -> bool:
        """The ACK of a 2xx carries the To tag of that 2xx (RFC 3261 13.2.2.4): only who
        received our answer knows it. Matching by Call-ID and CSeq alone let anyone who
        forged an INVITE's source confirm the call blind and aim the IVR's RTP at the
        forged address (a 276x amplifier)."""
        return self.last is not None and bool(ack.to.tag) and ack.to.tag == self.last.to.tag

    def retransmitted(self) -> None:
        if self.state == "proceeding":
            super().retransmitted()


class ClientTransaction:
    def __init__(self, layer: TransactionLayer, request: Request, peer: Peer) -> None:
        self.layer = layer
        self.request = request
        self.peer = peer
        self.branch = request.top_via.branch or ""
        self.method = request.method
        self.final: asyncio.Future[Response] = asyncio.get_running_loop().create_future()
        self.on_provisional: Callable[[Response], None] | None = None
        self.provisional = False
        self.terminated = False
        self._timer: asyncio.TimerHandle | None = None
        self._interval = layer.timers.t1
        self._started = asyncio.get_running_loop().time()

    @property
    def reliable(self) -> bool:
        return self.peer.transport != "UDP"

    def start(self) -> None:
        self.layer.transport.send(self.request, self.peer)
        self._later(self._interval if not self.reliable else self.layer.timers.b, self._tick)

    def _later(self, delay: float, callback: Callable[[], None]) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(delay, callback)

    def _tick(self) -> None:
        """Timers A/E repeat the request, B/F give up."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._started >= self.layer.timers.b:
            self._resolve(make_response(self.request, 408, "Request Timeout (no answer)"))
            self.terminate()
            return
        if self.method == "INVITE" and self.provisional:
            self._later(self.layer.timers.b, self._tick)
            return
        self.layer.transport.send(self.request, self.peer)
        cap = self.layer.timers.t2
        if self.method != "INVITE" and self.provisional:
            self._interval = cap
        else:
            self._interval = min(2 * self._interval, 1e9 if self.method == "INVITE" else cap)
        self._later(self._interval, self._tick)

    def received(self, response: Response) -> None:
        if response.status < 200:
            self.provisional = True
            if self.on_provisional is not None:
                self.on_provisional(response)
            return
        if self.method == "INVITE" and response.status >= 300:
            self.layer.transport.send(self._ack_for(response), self.peer)
        if self.final.done():
            return
        self._resolve(response)
        # Timers D/K: stay a while to absorb repeated finals (the ACK above is resent)
        self._later(0 if self.reliable else self.layer.timers.t4 * 2, self.terminate)

    def _ack_for(self, response: Response) -> Request:
        """§17.1.1.3: the ACK of a non-2xx is part of the INVITE transaction."""
        headers = Headers()
        headers.add("Via", self.request.headers.get("Via") or "")
        for name in ("Route",):
            for value in self.request.headers.get_all(name):
                headers.add(name, value)
        headers.add("Max-Forwards", "70")
        headers.add("From", self.request.headers.get("From") or "")
        headers.add("To", response.headers.get("To") or "")
        headers.add("Call-ID", self.request.call_id)
        headers.add("CSeq", f"{self.request.cseq[0]} ACK")
        return Request(headers, b"", method="ACK", uri=self.request.uri)

    def _resolve(self, response: Response) -> None:
        if not self.final.done():
            self.final.set_result(response)

    def terminate(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self.terminated:
            self.terminated = True
            self.layer._client.pop((self.branch, self.method), None)
            if not self.final.done():
                self.final.set_result(make_response(self.request, 408))


RequestHandler = Callable[[ServerTransaction], None]


def _refuse(txn: ServerTransaction) -> None:
    txn.reply(500)


AckHandler = Callable[[Request, Peer], None]
ResponseHandler = Callable[[Response, Peer], None]


class TransactionLayer:
    """Matches messages to transactions and hands new requests to the core (the UA)."""

    def __init__(self, transport: SipTransport, timers: Timers | None = None) -> None:
        self.transport = transport
        self.timers = timers or Timers()
        self._server: dict[tuple[str, ...], ServerTransaction] = {}
        self._client: dict[tuple[str, str], ClientTransaction] = {}
        #: accepted INVITEs by (Call-ID, CSeq number): the 2xx's ACK has its own branch
        self._accepted: dict[tuple[str, int], InviteServerTransaction] = {}
        self.on_request: RequestHandler = _refuse
        #: an ACK that matched no transaction (the ACK of a 2xx after timer I, say)
        self.on_stray_ack: AckHandler = lambda ack, peer: None
        #: a response no client transaction waits for (a repeated 2xx to our INVITE)
        self.on_stray_response: ResponseHandler = lambda response, peer: None
        transport.handler = self.received

    # ------------------------------------------------------------------ inbound
    def received(self, message: Message, peer: Peer) -> None:
        if isinstance(message, Response):
            self._response(message, peer)
        else:
            self._request(message, peer)

    def _response(self, response: Response, peer: Peer) -> None:
        try:
            branch = response.top_via.branch or ""
            _, method = response.cseq
        except SipParseError:
            return
        txn = self._client.get((branch, method))
        if txn is not None:
            txn.received(response)
        else:
            self.on_stray_response(response, peer)

    def _request(self, request: Request, peer: Peer) -> None:
        key = _server_key(request)
        if request.method == "ACK":
            self._ack(request, key, peer)
            return
        if request.method == "CANCEL":
            self._cancel(request, key, peer)
            return
        existing = self._server.get(key)
        if existing is not None:
            existing.retransmitted()
            return
        txn: ServerTransaction
        if request.method == "INVITE":
            invite = InviteServerTransaction(self, request, peer)
            self._server[key] = invite
            number, _ = request.cseq
            self._accepted[(request.call_id, number)] = invite
            invite.reply(100)
            txn = invite
        else:
            txn = ServerTransaction(self, request, peer)
            self._server[key] = txn
        self.on_request(txn)

    def _ack(self, ack: Request, key: tuple[str, ...], peer: Peer) -> None:
        txn = self._server.get(key)
        if not isinstance(txn, InviteServerTransaction):
            number, _ = ack.cseq
            txn = self._accepted.get((ack.call_id, number))
        if isinstance(txn, InviteServerTransaction) and not txn.terminated:
            txn.acked(ack)
        else:
            self.on_stray_ack(ack, peer)

    def _cancel(self, cancel: Request, key: tuple[str, ...], peer: Peer) -> None:
        own = ServerTransaction(self, cancel, peer)
        existing = self._server.get((*own.key, "CANCEL"))
        if existing is not None:
            existing.retransmitted()
            return
        own.key = (*own.key, "CANCEL")
        self._server[own.key] = own
        invite = self._server.get(key)
        if not isinstance(invite, InviteServerTransaction):
            own.reply(481)
            return
        own.reply(200)
        if invite.state == "proceeding":
            if invite.on_cancel is not None:
                invite.on_cancel()
            if invite.state == "proceeding":
                invite.reply(487)

    def _forget_server(self, txn: ServerTransaction) -> None:
        if self._server.get(txn.key) is txn:
            del self._server[txn.key]
        if isinstance(txn, InviteServerTransaction):
            number, _ = txn.request.cseq
            if self._accepted.get((txn.request.call_id, number)) is txn:
                del self._accepted[(txn.request.call_id, number)]

    # ------------------------------------------------------------------ outbound
    def request(
        self,
        request: Request,
        peer: Peer,
        *,
        on_provisional: Callable[[Response], None] | None = None,
    ) -> ClientTransaction:
        """Start a client transaction; await ``txn.final`` for the final response."""
        txn = ClientTransaction(self, request, peer)
        txn.on_provisional = on_provisional
        self._client[(txn.branch, txn.method)] = txn
        txn.start()
        return txn

    def send_stateless(self, message: Message, peer: Peer) -> None:
        """The ACK of a 2xx, sent by the dialog, not by a transaction (§13.2.2.4)."""
        self.transport.send(message, peer)

    # ------------------------------------------------------------------ bookkeeping
    @property
    def pending(self) -> int:
        return len(self._server) + len(self._client)

    def close(self) -> None:
        for server in list(self._server.values()):
            server.terminate()
        for client in list(self._client.values()):
            client.terminate()
        self._accepted.clear()
