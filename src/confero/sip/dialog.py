"""SIP dialogs (RFC 3261 §12): the state two user agents share for one call.

A dialog is identified by Call-ID and the two tags; it knows the remote target (the
peer's Contact), the route set (Record-Route) and both CSeq counters, and builds the
requests we send inside it (BYE, re-INVITE, ACK of a 2xx). Requests go to the peer the
dialog was made with: our peers are phones and trunks reached directly, and this also
works behind NAT, where the Contact address is unreachable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from confero.sip.message import Headers, NameAddr, Request, Response
from confero.sip.transaction import new_branch
from confero.sip.transport import Peer


@dataclass
class Dialog:
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # our From/To header value, tag included
    remote_uri: str
    remote_target: str
    peer: Peer
    local_contact: str
    route_set: list[str] = field(default_factory=list)
    local_seq: int = 1
    remote_seq: int | None = None

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.call_id, self.local_tag, self.remote_tag)

    @classmethod
    def as_uas(cls, invite: Request, peer: Peer, local_tag: str, local_contact: str) -> Dialog:
        """§12.1.1: the dialog an incoming INVITE makes when we answer it."""
        remote = invite.from_
        target = _contact_uri(invite.headers.get("Contact")) or remote.uri
        return cls(
            call_id=invite.call_id,
            local_tag=local_tag,
            remote_tag=remote.tag or "",
            local_uri=str(invite.to.with_tag(local_tag)),
            remote_uri=invite.headers.get("From") or "",
            remote_target=target,
            peer=peer,
            local_contact=local_contact,
            route_set=list(invite.headers.get_all("Record-Route")),
            local_seq=0,
            remote_seq=invite.cseq[0],
        )

    @classmethod
    def as_uac(cls, invite: Request, response: Response, peer: Peer) -> Dialog:
        """§12.1.2: the dialog our INVITE makes when it is answered."""
        to = response.to
        target = _contact_uri(response.headers.get("Contact")) or invite.uri
        return cls(
            call_id=invite.call_id,
            local_tag=invite.from_.tag or "",
            remote_tag=to.tag or "",
            local_uri=invite.headers.get("From") or "",
            remote_uri=response.headers.get("To") or "",
            remote_target=target,
            peer=peer,
            local_contact=invite.headers.get("Contact") or "",
            route_set=list(reversed(response.headers.get_all("Record-Route"))),
            local_seq=invite.cseq[0],
        )

    def accepts(self, request: Request) -> bool:
        """§12.2.2: a lower CSeq than the last one is out of order (answered 500)."""
        number = request.cseq[0]
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq is not None and number < self.remote_seq:
            return False
        self.remote_seq = number
        return True

    def request(
        self, method: str, *, body: bytes = b"", content_type: str | None = None
    ) -> Request:
        if method != "ACK":
            self.local_seq += 1
        return self._build(method, self.local_seq, body=body, content_type=content_type)

    def ack(self, cseq: int, *, body: bytes = b"") -> Request:
        return self._build("ACK", cseq, body=body, content_type="application/sdp" if body else None)

    def _build(self, method: str, cseq: int, *, body: bytes, content_type: str | None) -> Request:
        headers = Headers()
        host, port = _local_sent_by(self)
        headers.add(
            "Via", f"SIP/2.0/{self.peer.transport} {host}:{port};branch={new_branch()};rport"
        )
        for route in self.route_set:
            headers.add("Route", route)
        headers.add("Max-Forwards", "70")
        headers.add("From", self.local_uri)
        headers.add("To", self.remote_uri)
        headers.add("Call-ID", self.call_id)
        headers.add("CSeq", f"{cseq} {method}")
        headers.add("Contact", self.local_contact)
        if content_type is not None:
            headers.add("Content-Type", content_type)
        return Request(headers, body, method=method, uri=self.remote_target)


def _contact_uri(value: str | None) -> str | None:
    if not value or value == "*":
        return None
    try:
        return NameAddr.parse(value).uri
    except ValueError:
        return None


def _local_sent_by(dialog: Dialog) -> tuple[str, int]:
    try:
        contact = NameAddr.parse(dialog.local_contact).uri
        hostport = contact.split("@")[-1].split(";")[0]
        host, _, port = hostport.partition(":")
        return host, int(port or 5060)
    except ValueError:
        return "127.0.0.1", 5060
