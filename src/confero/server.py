"""Composition root: the only module that knows every adapter (house rule 1).

``build`` wires the store, the bus and the services from ``Settings``; ``serve`` migrates,
creates the first admin on first start, and runs the HTTP server on uvloop.

Observability (issue 18): ``run`` sets up the logs (observe/logs.py: text or JSON, secrets
masked; uvicorn gets no logging config of its own, so its lines go the same way). With
``CONFERO_METRICS`` or ``CONFERO_METRICS_PORT`` one ``Metrics`` is made here and handed
to whatever counts (the engine's tick, the phone bridge, the notice worker, the HTTP
middleware, the database pool) and told how to read the node's state when scraped; the
separate metrics listener is a second uvicorn server that leaves signals to the main
one and stops with it. Readiness checks are registered here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta

import uvicorn
from redis.asyncio import Redis
from starlette.types import ASGIApp

from confero.app.clock import SystemClock
from confero.app.counters import CounterStore
from confero.app.notice_worker import NoticeWorker
from confero.app.placement import LocalPlacement, NodeInfo, Placement
from confero.app.ports import Clock, DeliveryError, Mailer, SmsGateway, UnitOfWorkFactory
from confero.app.presence_port import PeopleFanout, PresenceStore
from confero.app.ratelimit import GuessPolicy, parse_networks
from confero.app.recordings import RecordingService
from confero.app.rooms import RoomPolicy
from confero.app.services import Services, build_services
from confero.app.session import ResumeTokens
from confero.bus.local import LocalBus
from confero.bus.presence import MemoryPresence
from confero.bus.redis_connection import RedisKeys, connect
from confero.bus.redis_counters import RedisCounters
from confero.bus.redis_fanout import RedisFanout
from confero.bus.redis_names import RedisCallerNames
from confero.bus.redis_placement import RedisPlacement
from confero.bus.redis_presence import RedisPresence
from confero.bus.redis_tokens import RedisTokens
from confero.config import Settings
from confero.domain.events import Event, InviteRequested
from confero.domain.notices import MAIL_NOT_CONFIGURED, Invitation
from confero.heap import HeapKeeper, settle_heap
from confero.media.engine import MediaEngine
from confero.media.recording import EngineRecorder
from confero.media.sfu import Sfu
from confero.media.workers.pool import node_media
from confero.media.workers.priority import Priority
from confero.notify.email import SmtpMailer
from confero.notify.sms import HttpSmsGateway, sms_text
from confero.observe import logs
from confero.observe.metrics import Metrics
from confero.phone.stack import PhoneStack
from confero.store.blobs import DirectoryBlobs
from confero.store.database import create_engine, observe_pool_wait, ping, upgrade
from confero.store.outbox import OutboxSmsGateway
from confero.store.uow import make_uow_factory
from confero.web.app import create_app
from confero.web.http_server import guarded_http
from confero.web.observe import exposition_app
from confero.webrtc.gateway import BrowserGateway

log = logging.getLogger("confero")


async def build(
    settings: Settings,
    clock: Clock | None = None,
    metrics: Metrics | None = None,
    *,
    placement: Placement | None = None,
    counters: CounterStore | None = None,
    tokens: ResumeTokens | None = None,
    presence: PresenceStore | None = None,
    fanout: PeopleFanout | None = None,
) -> Services:
    """Services on a migrated database (``metrics``: what they count goes there;
    ``placement``: the room leases, else from the settings: Redis in a cluster;
    ``counters``: where rate limits count, else Redis in a cluster, memory alone;
    ``tokens``: browsers' resume tokens, else Redis in a cluster, memory alone;
    ``presence``, ``fanout``: people's pages and calls, and how pages on other nodes
    hear of them, else Redis in a cluster, memory and nobody alone)."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        settings.resolved_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    await upgrade(engine)
    if metrics is not None:
        observe_pool_wait(engine, metrics.db_pool_wait.observe)
    # Shared files and recordings (issue 12); unfinished uploads of a crash go at start.
    blobs = DirectoryBlobs(settings.data_dir / "files")
    blobs.sweep()
    # The node's one Redis client in a cluster (issue 16, bus/redis_connection.py).
    redis = connect(settings.redis_url) if settings.clustered else None
    if placement is None:
        placement = node_placement(settings, redis)
    if counters is None and redis is not None:  # limits count across the nodes (issue 16)
        counters = RedisCounters(redis, RedisKeys(settings.redis_prefix))
    if tokens is None and redis is not None:  # a rejoin on any node (issue 16)
        tokens = RedisTokens(redis, RedisKeys(settings.redis_prefix))
    if presence is None and redis is not None:  # presence and calls across nodes (F-WB3)
        presence = RedisPresence(
            redis, RedisKeys(settings.redis_prefix), placement.this_node.node_id
        )
        await presence.forget_node()
    if fanout is None and redis is not None:  # pages on the other nodes hear it
        fanout = RedisFanout(redis, RedisKeys(settings.redis_prefix), placement.this_node.node_id)
    services = build_services(
        make_uow_factory(engine),
        LocalBus(),
        clock or SystemClock(),
        policy=RoomPolicy(
            max_capacity=settings.max_capacity,
            pin_length=settings.pin_length,
            guesses=guess_policy(settings),
        ),
        base_url=settings.base_url,
        access_number=settings.access_number,
        presence=presence or MemoryPresence(),
        fanout=fanout,
        presence_ping=settings.presence_ping,
        presence_timeout=settings.presence_timeout,
        ring_timeout=settings.ring_timeout,
        mail_enabled=bool(settings.smtp_host),
        blobs=blobs,
        max_upload_mb=settings.max_upload_mb,
        upload_types=settings.upload_types,
        recording_blobs=blobs,
        placement=placement,
        counters=counters,
    )
    services.resume_tokens = tokens
    if redis is not None:  # a relayed caller's recorded name, for the owner (issue 16)
        services.caller_names = RedisCallerNames(redis, RedisKeys(settings.redis_prefix))
    services.on_close(engine.dispose)
    if redis is not None:
        services.on_close(redis.aclose)
    await placement.start()  # registered before the node takes a call
    services.on_close(placement.close)  # leases given up, before Redis and database go
    if isinstance(placement, RedisPlacement):  # a node cut off from Redis gets no traffic
        services.ready_checks["placement"] = placement.alive
    services.ready_checks["database"] = lambda: ping(engine)
    services.room_state.blobs = blobs  # Reset deletes files' and recordings' bytes too
    services.sms_outbox = not settings.sms_url
    worker = NoticeWorker(
        services.uow,
        services.clock,
        services.notices,
        mailer=mailer(settings),
        sms=sms_gateway(settings, services.uow, services.clock),
        sms_text=sms_text,
        **({"on_outcome": metrics.notice} if metrics is not None else {}),
    )
    if metrics is not None:
        metrics.refresh_with(_queued_notices(services, metrics))
    worker.start()
    services.on_close(worker.stop)
    await services.people.start()  # sweeper, bus subscription, other nodes (F-WB3)
    services.recordings.start()  # follows record_start/record_stop (issue 12)
    services.on_close(services.people.close)
    return services


def node_placement(settings: Settings, redis: Redis | None) -> Placement:
    """Who runs which room (issue 16): leases in Redis in a cluster, else this node."""
    node = NodeInfo(
        node_id=settings.node_name,
        internal_url=settings.internal_url,
        sip_host=settings.sip_host,
        sip_port=settings.sip_port,
        media_host=settings.media_host or settings.sip_host,
    )
    if redis is None:
        return LocalPlacement(node)
    keys = RedisKeys(settings.redis_prefix)
    return RedisPlacement(redis, node, ttl_ms=settings.cluster_lease_ms, keys=keys)


def _queued_notices(services: Services, metrics: Metrics) -> Callable[[], Awaitable[None]]:
    """The scrape's refresher of ``confero_notices_queued`` (a database count)."""

    async def refresh() -> None:
        async with services.uow() as uow:
            metrics.notices_queued.set(await uow.notices.queued())

    return refresh


def guess_policy(settings: Settings) -> GuessPolicy:
    """PIN guessing limits and the trusted proxies (issue 14) from the settings."""
    return GuessPolicy(
        per_caller=settings.pin_failures_per_caller,
        per_source=settings.pin_failures_per_source,
        per_room=settings.pin_failures_per_room,
        room_lockout=timedelta(seconds=settings.pin_room_lockout),
        trusted_proxies=parse_networks(settings.trusted_proxies),
    )


class NoMailer:
    """Mail without CONFERO_SMTP_HOST: every mail notice fails, saying why."""

    async def send(self, to: str, invitation: Invitation) -> None:
        raise DeliveryError(
            "CONFERO_SMTP_HOST is not set", permanent=True, code=MAIL_NOT_CONFIGURED
        )


def mailer(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return NoMailer()
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        tls=settings.smtp_tls,
    )


def sms_gateway(settings: Settings, uow: UnitOfWorkFactory, clock: Clock) -> SmsGateway:
    """The HTTP gateway when CONFERO_SMS_URL is set; else the database outbox."""
    if settings.sms_url:
        return HttpSmsGateway(settings.sms_url, settings.sms_token, settings.sms_from)
    return OutboxSmsGateway(uow, clock, settings.sms_from)


@dataclass
class NoDialOut:
    """Without the phone stack nothing places calls: whoever asks for one ("call a phone
    number", ``invite`` over REST) is told at once, instead of waiting on "Calling…"."""

    services: Services
    _unsubscribe: Callable[[], None] | None = None
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        self._unsubscribe = self.services.bus.subscribe(self._event)

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        for task in list(self._tasks):
            await task

    def _event(self, event: Event) -> None:
        # A fast bus subscriber (never waits): tell the inviter from a task of its own.
        if isinstance(event, InviteRequested):
            task = asyncio.create_task(
                self.services.conferences.invite_failed(
                    event.room_id, event.number, event.by, "unavailable"
                )
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


@dataclass
class Node:
    """What one server process runs beside HTTP: one media engine that browsers and
    phones share (so they hear each other), the browser gateway, the phone stack."""

    engine: MediaEngine
    gateway: BrowserGateway
    phone: PhoneStack | None
    no_dial_out: NoDialOut | None = None
    #: Recordings are closed and stored before the engine stops (issue 12).
    recordings: RecordingService | None = None

    @classmethod
    def build(cls, services: Services, settings: Settings, metrics: Metrics | None = None) -> Node:
        engine = node_media(
            settings.media_workers, Priority(settings.media_nice, settings.media_realtime)
        )
        sfu = Sfu()
        gateway = BrowserGateway(
            engine,
            sfu,
            services.rooms,
            services.conferences,
            services.bus,
            grace=settings.resume_grace,
            ice_servers=settings.ice_server_list(),
            boards=services.boards,
            max_per_address=settings.ws_max_per_address,
            max_per_room=settings.ws_max_per_room,
            tokens=services.resume_tokens,
        )
        services.media_clock = engine.clock
        recorder = EngineRecorder(engine, settings.data_dir / "recording")
        recorder.sweep()  # unfinished recordings of a crash
        services.recordings.attach(recorder)
        if metrics is not None:
            watch(metrics, services, engine, sfu, gateway)
        if settings.sip_enabled:
            phone = PhoneStack.build(services, settings, engine, metrics)
            services.media_quality = phone.bridge  # phone legs' RTCP in the API (issue 13)
            node = cls(engine, gateway, phone, recordings=services.recordings)
        else:
            node = cls(engine, gateway, None, NoDialOut(services), services.recordings)
        node.register_checks(services)
        return node

    def register_checks(self, services: Services) -> None:
        """Readiness (issue 18): the media tick runs; SIP listens when it is on."""

        async def media() -> bool:
            return self.engine.running

        services.ready_checks["media"] = media
        phone = self.phone
        if phone is not None:

            async def sip() -> bool:
                return phone.ua.listening

            services.ready_checks["sip"] = sip

    async def start(self) -> None:
        self.engine.start()
        await self.engine.wait_ready()
        self.gateway.start()
        if self.phone is not None:
            await self.phone.start()
        if self.no_dial_out is not None:
            self.no_dial_out.start()

    async def stop(self) -> None:
        if self.recordings is not None:
            await self.recordings.close()  # whole files and rows, while the mix still runs
        if self.no_dial_out is not None:
            await self.no_dial_out.stop()
        if self.phone is not None:
            await self.phone.stop()
        await self.gateway.stop()
        await self.engine.stop()


def watch(
    metrics: Metrics, services: Services, engine: MediaEngine, sfu: Sfu, gateway: BrowserGateway
) -> None:
    """Hand the node's counting points and state readers to ``metrics`` (issue 18)."""
    engine.on_tick = metrics.observe_tick
    metrics.watch_legs(engine.leg_count)
    metrics.watch_sfu(lambda: (sfu.totals.forwarded, sfu.totals.keyframe_requests))
    registry = services.registry

    def channels() -> Iterator[list[str]]:
        for room_id in registry.live_rooms():
            actor = registry.get(room_id)
            if actor is not None:
                yield [p.channel for p in actor.snapshot().participants]

    metrics.watch_conferences(channels)
    metrics.watch_sockets(lambda: {"room": sum(len(v) for v in gateway.visitors.values())})
    gateway.observe_reception(lambda loss, jitter: metrics.observe_leg(loss, jitter, "browser"))


class SideServer(uvicorn.Server):
    """A second uvicorn server in the process (the metrics listener): the main server
    owns the signals and this one stops when told (``should_exit``)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def metrics_server(metrics: Metrics, settings: Settings) -> SideServer:
    """The listener of ``CONFERO_METRICS_PORT`` on ``CONFERO_METRICS_HOST``: ``/metrics``
    and nothing else (web/observe.py says why it is the safe default)."""
    return SideServer(
        uvicorn.Config(
            exposition_app(metrics),
            host=settings.metrics_host,
            port=settings.metrics_port,
            loop="none",
            lifespan="off",
            log_config=None,
            log_level=settings.log_level,
            access_log=False,
            proxy_headers=False,
        )
    )


@dataclass
class FirstStart:
    email: str
    password: str
    room_name: str
    conference_number: str
    #: The demo room's invite link, to open in a browser at once (F-WB1, F-WB6).
    invite_url: str


async def first_start(services: Services, settings: Settings) -> FirstStart | None:
    """On an empty database: an admin with a random password, and a demo room."""
    password = await services.accounts.ensure_admin(settings.admin_email)
    if password is None:
        return None
    admin = await services.accounts.by_email(settings.admin_email)
    assert admin is not None
    room = await services.rooms.create(admin, "Demo room")
    link = f"{settings.base_url}/join/{room.invite_token}"
    return FirstStart(settings.admin_email, password, room.name, room.conference_number, link)


#: The largest WebSocket message taken in (uvicorn's default is 16 MB); the sockets' own
#: messages are at most 64 KB (webrtc/signaling.py), refused with an error beyond that.
WS_MAX_SIZE = 1024 * 1024


def http_config(app: ASGIApp, settings: Settings) -> uvicorn.Config:
    """uvicorn as ``serve`` runs it: the HTTP protocol with header and body timeouts
    (web/http_server.py), the keep-alive bound and the WebSocket message cap (issue 14)."""
    return uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        log_level=settings.log_level,
        # The root logger's handler (observe/logs.py) formats and redacts uvicorn's lines
        # too (its access log printed invite tokens in paths before issue 18).
        log_config=None,
        lifespan="on",
        # X-Forwarded-For is read by web/deps.py, from CONFERO_TRUSTED_PROXIES only
        # (uvicorn's own default believes it from 127.0.0.1: issue 14).
        proxy_headers=False,
        http=guarded_http(settings.http_header_timeout, settings.http_body_timeout),
        timeout_keep_alive=settings.http_keep_alive,
        ws_max_size=WS_MAX_SIZE,
    )


async def serve(settings: Settings) -> None:
    metrics = Metrics() if settings.metrics or settings.metrics_port else None
    services = await build(settings, metrics=metrics)
    first = await first_start(services, settings)
    node = Node.build(services, settings, metrics)
    app = create_app(
        services,
        secure_cookies=settings.secure_cookies,
        signaling=node.gateway,
        ice_servers=settings.ice_server_list(),
        max_body=settings.max_body_kb * 1024,
        metrics=metrics,
        metrics_route=settings.metrics and not settings.metrics_port,
        cluster_secret=settings.cluster_secret.get_secret_value() if settings.clustered else "",
    )
    if metrics is not None:
        metrics.watch_sockets(lambda: {"people": sum(people_pages(app).values())})
    server = uvicorn.Server(http_config(app, settings))
    side = metrics_server(metrics, settings) if metrics and settings.metrics_port else None
    side_task = asyncio.create_task(side.serve(), name="metrics") if side else None
    settle_heap()  # a full collection: before the media clock ticks, not in its way
    await node.start()
    keeper = None
    if settings.heap_freeze_every > 0:
        keeper = HeapKeeper(settings.heap_freeze_every, idle=lambda: node.engine.leg_count() == 0)
        keeper.start()
    phone = node.phone
    if first is not None:
        print(
            f"\nFirst start: created the administrator account\n"
            f"  email:    {first.email}\n"
            f"  password: {first.password}   (shown only this once)\n"
            f"  and '{first.room_name}' with conference number {first.conference_number}\n"
            f"  invite link: {first.invite_url}\n",
            flush=True,
        )
    print(
        f"Confero is running: open {settings.base_url}/ (API docs at {settings.base_url}/docs)",
        flush=True,
    )
    if phone is not None:
        number = f" (access number {settings.access_number})" if settings.access_number else ""
        print(
            f"Phone dial-in: SIP on {settings.sip_host}:{phone.ua.port} UDP and TCP{number}",
            flush=True,
        )
    if side is not None:
        print(
            f"Metrics: http://{settings.metrics_host}:{settings.metrics_port}/metrics",
            flush=True,
        )
    elif metrics is not None:
        print(f"Metrics: {settings.base_url}/metrics (to loopback clients only)", flush=True)
    try:
        await server.serve()
    finally:
        if side is not None and side_task is not None:
            side.should_exit = True
            with contextlib.suppress(Exception):
                await side_task
        if keeper is not None:
            await keeper.stop()
        await node.stop()


def people_pages(app: object) -> dict[str, int]:
    """The main app's open people sockets per account (web/people_socket.py keeps them
    in the app's state; none before the first opens)."""
    state = getattr(app, "state", None)
    pages = getattr(state, "people_pages", None)
    return dict(pages) if pages else {}


def run(settings: Settings | None = None) -> None:
    import uvloop

    settings = settings or Settings()
    logs.configure(settings.log_format, settings.log_level)
    uvloop.run(serve(settings))


if __name__ == "__main__":  # pragma: no cover
    asyncio.run(serve(Settings()))
