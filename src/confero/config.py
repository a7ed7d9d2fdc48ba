"""All settings in one place (house rule 6): ``CONFERO_*`` environment variables, then an
optional TOML file named by ``CONFERO_CONFIG``, then the defaults of the one-process
profile (SQLite under ./var, in-process bus, HTTP on 127.0.0.1:8080)."""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONFERO_", extra="ignore")

    data_dir: Path = Path("var")
    #: Empty means an SQLite file in ``data_dir``.
    database_url: str = ""
    #: Database connections kept open, and how many more a burst may open (issue 17:
    #: with SQLAlchemy's 5 + 10, 32 concurrent requests opened and closed a connection
    #: for every request past the fifth, a thread and a connect each on SQLite).
    database_pool_size: int = Field(default=20, ge=1, le=1000)
    database_max_overflow: int = Field(default=10, ge=0, le=1000)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    #: Where people reach the server; used in invite links. Empty: http://host:port.
    public_url: str = ""
    admin_email: str = "admin@confero.local"
    max_capacity: int = Field(default=30, ge=2, le=1000)
    pin_length: int = Field(default=6, ge=4, le=12)
    #: Set when served over HTTPS so the session cookie is never sent in clear text.
    secure_cookies: bool = False
    #: Phone dial-in; ``sip_enabled=false`` runs the server without it.
    sip_enabled: bool = True
    sip_host: str = "127.0.0.1"
    sip_port: int = Field(default=5060, ge=0, le=65535)
    #: Where callers send RTP; empty means ``sip_host``.
    media_host: str = ""
    #: ``host:port`` of the SIP trunk that places outgoing calls (``*8``); empty: none.
    sip_trunk: str = ""
    #: The trunk account (digest, RFC 8760: MD5 or SHA-256) for dial-out and
    #: registration; empty user: calls go out unauthenticated. The password is a secret:
    #: never logged, shown as ``**********``.
    sip_trunk_user: str = ""
    sip_trunk_password: SecretStr = SecretStr("")
    #: Register the account at the trunk (refreshed at half the granted time).
    sip_trunk_register: bool = False
    sip_trunk_transport: Literal["udp", "tcp"] = "udp"
    #: The shared dial-in number, spoken and printed in invitations.
    access_number: str = ""
    #: The time zone times are spoken in ("this conference starts at 14:30").
    time_zone: str = "UTC"
    #: Seconds a phone caller knocks on a locked room before they are told nobody let
    #: them in and the call ends (their lobby entry goes with it); 0: wait for ever.
    knock_timeout: float = Field(default=300.0, ge=0, le=86400)
    #: PIN and conference-number guessing (issue 14, app/ratelimit.py GuessPolicy):
    #: failures per 10 minutes from one caller id, from one source address, and on one
    #: conference number (then the room's PIN entry is locked for ``pin_room_lockout``
    #: seconds, unless its owner lifts it on the panel).
    pin_failures_per_caller: int = Field(default=5, ge=1, le=10_000)
    pin_failures_per_source: int = Field(default=10, ge=1, le=10_000)
    pin_failures_per_room: int = Field(default=10, ge=1, le=10_000)
    pin_room_lockout: float = Field(default=900.0, ge=0, le=86400)
    #: Reverse proxies (HTTP) and SIP proxies in front of us, comma-separated addresses or
    #: networks (``10.0.0.0/8,192.0.2.7``): only from them is ``X-Forwarded-For``
    #: believed, and calls from them do not count as one source for PIN guessing (issue
    #: 14). Empty: nobody is trusted; the client is the connection's address.
    trusted_proxies: str = ""
    #: SIP admission control (issue 14, sip/admission.py): concurrent phone calls in
    #: total (0: sized to the machine, 100 per CPU, 200 to 2000), from one source
    #: address (a trunk or PBX in front brings every call from one: raise it then) and
    #: in one room; new INVITEs a second from one source (bursts of ``..._BURST``; a
    #: source that keeps going is banned for ``..._BAN`` seconds); 0 turns a limit off.
    sip_max_calls: int = Field(default=0, ge=0, le=100_000)
    sip_max_calls_per_source: int = Field(default=100, ge=0, le=100_000)
    sip_max_calls_per_room: int = Field(default=100, ge=0, le=100_000)
    #: Calls answered and not yet ACKed from one source (a caller that never ACKs has
    #: not shown it receives our answers); together they hold at most half the total.
    sip_max_pending_per_source: int = Field(default=10, ge=0, le=100_000)
    #: New calls get 503 while the media tick runs this late on average over the last
    #: second (ms): the node is past its capacity (issue 14's soak); 0: never.
    sip_overload_lag_ms: float = Field(default=10.0, ge=0, le=10_000)
    sip_invite_rate: float = Field(default=20.0, ge=0, le=100_000)
    sip_invite_burst: int = Field(default=40, ge=1, le=100_000)
    sip_invite_ban: float = Field(default=60.0, ge=0, le=86400)
    #: Seconds without RTP or RTCP from a phone before its call is hung up (issue 14),
    #: and the longer limit while the caller holds the call (phones stop RTP on hold);
    #: 0 turns a limit off.
    media_timeout: float = Field(default=30.0, ge=0, le=86400)
    media_hold_timeout: float = Field(default=600.0, ge=0, le=86400)
    #: STUN/TURN servers for browsers behind NAT, comma-separated URLs
    #: (``stun:stun.example.org:3478,turn:turn.example.org:3478?transport=udp``); empty:
    #: the server is reached directly (its host candidates), as on a LAN.
    ice_servers: str = ""
    #: Credentials for the ``turn:``/``turns:`` URLs above (given to every browser).
    turn_username: str = ""
    turn_password: str = ""
    #: Seconds a browser that dropped (reload, network loss) stays in the conference,
    #: waiting to come back as the same participant (F-EN7).
    resume_grace: float = Field(default=30.0, ge=0, le=3600)
    #: Seconds between moves of the surviving heap out of the cycle collector's reach
    #: (confero/heap.py: its full passes stalled the media tick); 0: CPython's own policy.
    heap_freeze_every: float = Field(default=5.0, ge=0, le=3600)
    #: Processes that mix the conferences (issue 15 P4): 0 mixes in this process.
    media_workers: int = Field(default=0, ge=0, le=64)
    #: The media workers' priority relative to the node's process (``nice`` steps;
    #: negative: ahead of signalling, which needs CAP_SYS_NICE; refused: the node's).
    media_nice: int = Field(default=0, ge=-20, le=19)
    #: The media workers' real-time priority (``SCHED_RR`` 1-99; 0: off): a worker that
    #: wakes for its tick runs at once, ahead of every ordinary process. Needs
    #: CAP_SYS_NICE; refused: the workers log it and run as the node does.
    media_realtime: int = Field(default=0, ge=0, le=99)
    #: Mail for invitations (F-RS5): the SMTP server; empty host: mail is not sent and
    #: every mail notice fails with "mail is not configured".
    smtp_host: str = ""
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str = ""
    smtp_password: str = ""
    #: none | starttls | tls (implicit TLS, usually port 465).
    smtp_tls: Literal["none", "starttls", "tls"] = "none"
    mail_from: str = "Confero <confero@localhost>"
    #: SMS invitations (F-RS6): the gateway's URL and bearer token; empty URL: SMS are
    #: kept in the database's outbox (GET /api/v1/sms/outbox) instead of being sent.
    sms_url: str = ""
    sms_token: str = ""
    #: The sender name an SMS shows (seed 004: the operator's name).
    sms_from: str = "Confero"
    #: People (F-WB3, F-WB4): a page pings this often (seconds), is gone after
    #: ``presence_timeout`` seconds without a ping (offline), and a call nobody answers
    #: stops ringing after ``ring_timeout`` seconds (no answer).
    presence_ping: float = Field(default=10.0, gt=0, le=300)
    presence_timeout: float = Field(default=25.0, gt=0, le=3600)
    ring_timeout: float = Field(default=30.0, gt=0, le=600)
    #: Shared files (issue 12): the largest upload in MB, and the file types accepted
    #: (extensions, comma-separated; empty: every type domain/files.py knows).
    max_upload_mb: int = Field(default=50, ge=1, le=4096)
    upload_types: str = ""
    #: HTTP limits (issue 14, web/limits.py, web/http_server.py): the largest request
    #: body outside uploads (KB; refused 413 before it is read), seconds for a request's
    #: headers to arrive, seconds a request body may go without a byte, seconds a
    #: kept-alive connection may stay idle.
    max_body_kb: int = Field(default=1024, ge=16, le=1024 * 1024)
    http_header_timeout: float = Field(default=10.0, gt=0, le=600)
    http_body_timeout: float = Field(default=30.0, gt=0, le=3600)
    http_keep_alive: int = Field(default=5, ge=1, le=600)
    #: Room page sockets (issue 14, webrtc/gateway.py): at most this many open from one
    #: address, and on one room; more are closed with ``socket.too_many``.
    ws_max_per_address: int = Field(default=50, ge=1, le=100_000)
    ws_max_per_room: int = Field(default=300, ge=1, le=100_000)
    log_level: str = "info"
    #: Logs (issue 18, observe/logs.py): ``text`` (time level logger message, as always)
    #: or ``json`` (one object per line with request, call, room and participant ids).
    #: Either way secrets (PINs, tokens, passwords, invite links) are masked.
    log_format: Literal["text", "json"] = "text"
    #: Prometheus metrics (issue 18, observe/metrics.py), off by default. A port opens a
    #: listener of their own on ``metrics_host`` (loopback by default) that serves only
    #: ``/metrics``: the safe way. ``metrics=true`` without a port serves ``/metrics`` on
    #: the main HTTP port, answered only to loopback clients that came through no proxy
    #: (web/observe.py says why).
    metrics: bool = False
    metrics_port: int = Field(default=0, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"
    #: The cluster profile (issue 16, docs/CLUSTER.md): with a Redis URL this process is
    #: one node of a cluster on a shared PostgreSQL; empty: one process, no Redis.
    redis_url: str = ""
    #: The first part of every key this cluster writes in Redis (bus/redis_connection.py):
    #: two clusters, or a test's nodes, on one Redis never read each other's keys.
    redis_prefix: str = Field(default="confero", pattern=r"^[A-Za-z0-9_.-]{1,64}$")
    #: This node's name in the cluster, unique per node; empty: the host name and the
    #: HTTP port (``node_name``).
    node_id: str = ""
    #: Where the other nodes reach this one's HTTP (``http://10.0.0.2:8080``); empty:
    #: ``http://http_host:http_port``. Not for browsers: that is ``public_url``.
    node_url: str = ""
    #: The secret the nodes share to trust each other's internal requests (forwarded
    #: sockets, relayed calls). Required with ``redis_url``; never logged.
    cluster_secret: SecretStr = SecretStr("")
    #: Milliseconds a node's lease on a room lives without a heartbeat (issue 16,
    #: bus/redis_placement.py): a dead node's rooms are free again this soon; a node cut
    #: off from Redis for two thirds of it ends its conferences (they rejoin elsewhere).
    cluster_lease_ms: int = Field(default=5000, ge=1000, le=60_000)

    @model_validator(mode="after")
    def _cluster_needs_secret_and_database(self) -> Settings:
        """A cluster node on SQLite or without a shared secret would run, alone and
        unprotected, while its operator believes it is one of several: refuse to start."""
        if self.redis_url:
            if not self.cluster_secret.get_secret_value():
                raise ValueError("CONFERO_REDIS_URL needs CONFERO_CLUSTER_SECRET")
            if not self.database_url.startswith("postgresql"):
                raise ValueError("CONFERO_REDIS_URL needs a PostgreSQL CONFERO_DATABASE_URL")
            if self.sip_enabled and self.sip_port == 0:  # the others call it there
                raise ValueError("a cluster node needs a fixed CONFERO_SIP_PORT, not 0")
            if self.http_port == 0 and not self.node_url:
                raise ValueError(
                    "a cluster node needs a fixed CONFERO_HTTP_PORT or CONFERO_NODE_URL"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        toml = os.environ.get("CONFERO_CONFIG")
        if toml:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml))
        return tuple(sources)

    def ice_server_list(self) -> list[dict[str, object]]:
        """``ice_servers`` as WebRTC's RTCIceServer dictionaries (page and server alike)."""
        out: list[dict[str, object]] = []
        for url in (u.strip() for u in self.ice_servers.split(",")):
            if not url:
                continue
            server: dict[str, object] = {"urls": [url]}
            if url.startswith(("turn:", "turns:")) and self.turn_username:
                server["username"] = self.turn_username
                server["credential"] = self.turn_password
            out.append(server)
        return out

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'confero.db').resolve()}"

    @property
    def clustered(self) -> bool:
        return bool(self.redis_url)

    @property
    def node_name(self) -> str:
        return self.node_id or f"{socket.gethostname()}-{self.http_port}"

    @property
    def internal_url(self) -> str:
        """Where the other nodes of a cluster reach this node's HTTP."""
        if self.node_url:
            return self.node_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.http_host}:{self.http_port}"
