"""The phone side of one node, started and stopped as one: SIP user agent, media engine
and bridge (the composition root builds it from ``Settings``), and the registration at
the trunk when ``CONFERO_SIP_TRUNK_REGISTER`` asks for it (issue 13); with the node's
metrics, INVITEs refused by admission control are counted by their kind (issue 18); in a
cluster the bridge signs and checks the tokens of calls passed between nodes under
``CONFERO_CLUSTER_SECRET`` (issue 16, phone/admit_token.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from confero.app.ratelimit import is_trusted, parse_networks
from confero.app.services import Services
from confero.config import Settings
from confero.media.engine import MediaEngine
from confero.media.prompts import PromptLibrary
from confero.media.workers.pool import node_media
from confero.media.workers.priority import Priority
from confero.observe.metrics import Metrics
from confero.phone.admit_token import AdmitVerifier
from confero.phone.bridge import PhoneBridge
from confero.sip.admission import AdmissionLimits, SipAdmission
from confero.sip.digest import Credentials
from confero.sip.registration import Registration
from confero.sip.transport import Peer
from confero.sip.ua import UserAgent


def parse_trunk(value: str, transport: str = "udp") -> Peer | None:
    """``host:port`` (port 5060 when left out) -> where outgoing calls go."""
    if not value:
        return None
    host, _, port = value.rpartition(":") if ":" in value else (value, "", "5060")
    return Peer(transport.upper(), (host, int(port)))


def trunk_credentials(settings: Settings) -> Credentials | None:
    """The trunk account, or None without ``CONFERO_SIP_TRUNK_USER``."""
    if not settings.sip_trunk_user:
        return None
    return Credentials(settings.sip_trunk_user, settings.sip_trunk_password.get_secret_value())


def machine_max_calls(cpus: int | None = None) -> int:
    """Concurrent calls one process takes when ``CONFERO_SIP_MAX_CALLS`` is 0: 100 per
    CPU, from 200 (the soak of issue 14 runs 200 callers) to 2000."""
    return max(200, min(2000, 100 * (cpus or os.cpu_count() or 1)))


def admission(settings: Settings, engine: MediaEngine | None = None) -> SipAdmission:
    """The SIP admission policy of ``CONFERO_SIP_MAX_CALLS*`` and ``..._INVITE_*``;
    with ``engine``, new calls are shed while its tick lags (``..._OVERLOAD_LAG_MS``)."""
    policy = SipAdmission(
        AdmissionLimits(
            max_calls=settings.sip_max_calls or machine_max_calls(),
            max_calls_per_source=settings.sip_max_calls_per_source,
            max_pending_per_source=settings.sip_max_pending_per_source,
            invite_rate=settings.sip_invite_rate,
            invite_burst=settings.sip_invite_burst,
            ban_after=settings.sip_invite_burst if settings.sip_invite_ban > 0 else 0,
            ban_seconds=settings.sip_invite_ban,
        )
    )
    threshold = settings.sip_overload_lag_ms / 1000
    if engine is not None and threshold > 0:
        clock = engine.clock  # with media workers: the worst of theirs and ours
        policy.overloaded = lambda: bool(clock.lag > threshold)
    return policy


@dataclass
class PhoneStack:
    ua: UserAgent
    engine: MediaEngine
    bridge: PhoneBridge
    #: False when the node shares its engine with the browsers (it stops it then).
    owns_engine: bool = True
    registration: Registration | None = None

    @classmethod
    def build(
        cls,
        services: Services,
        settings: Settings,
        engine: MediaEngine | None = None,
        metrics: Metrics | None = None,
    ) -> PhoneStack:
        ua = UserAgent(settings.sip_host, settings.sip_port)
        trunk = parse_trunk(settings.sip_trunk, settings.sip_trunk_transport)
        credentials = trunk_credentials(settings)
        owns_engine = engine is None
        engine = engine or node_media(
            settings.media_workers, Priority(settings.media_nice, settings.media_realtime)
        )
        ua.admission = admission(settings, engine)
        proxies = parse_networks(settings.trusted_proxies)
        ua.trusted_proxy = lambda host: is_trusted(host, proxies)  # Kamailio (issue 16)
        bridge = PhoneBridge(
            ua,
            engine,
            services.rooms,
            services.conferences,
            services.bus,
            PromptLibrary(),
            media_host=settings.media_host or settings.sip_host,
            access_number=settings.access_number,
            trunk=trunk,
            time_zone=ZoneInfo(settings.time_zone),
            knock_timeout=settings.knock_timeout,
            tokens=services.resume_tokens,  # the cluster's store (issue 16), or memory
        )
        bridge.trunk_auth = credentials
        bridge.media_timeout = settings.media_timeout
        bridge.media_hold_timeout = settings.media_hold_timeout
        bridge.max_calls_per_room = settings.sip_max_calls_per_room
        if settings.clustered:  # calls passed between nodes (issue 16)
            secret = settings.cluster_secret.get_secret_value().encode()
            bridge.cluster_secret = secret
            bridge.admit = AdmitVerifier(secret, settings.node_name)
            bridge.names = services.caller_names
        if metrics is not None:
            bridge.metrics = metrics
            ua.on_refused = lambda refusal: metrics.refuse(refusal.kind)
        registration = None
        if settings.sip_trunk_register and trunk is not None and credentials is not None:
            registration = Registration(ua, trunk, credentials)
        return cls(ua, engine, bridge, owns_engine, registration)

    async def start(self) -> None:
        await self.ua.start()
        self.engine.start()
        await self.engine.wait_ready()
        self.bridge.start()
        if self.registration is not None:
            self.registration.start()

    async def stop(self) -> None:
        await self.bridge.stop()
        if self.registration is not None:
            await self.registration.stop()
        await self.ua.stop()
        if self.owns_engine:
            await self.engine.stop()
