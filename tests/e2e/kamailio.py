"""Kamailio (Debian's ``kamailio`` package, 5.6) as the SIP trunk of the dial-out tests
(issue 13): a registrar and a proxy that challenges with digest, run unprivileged as
the test's own process on a free port, with its own configuration, working and runtime
directories (never the package's service on 5060).

What it does, in ``request_route``:

* REGISTER: ``401`` with a ``WWW-Authenticate`` challenge until the credentials are
  right (``pv_www_authenticate`` against one static password), then ``save`` the binding
  in memory (usrloc ``db_mode`` 0).
* a request to the account's own user (``sip:<user>@trunk``): ``lookup`` of the binding
  and relay there, ``404`` without one: how a trunk routes a call to a registered PBX.
* any other new request (our dial-out): ``407`` with a ``Proxy-Authenticate`` challenge
  until the credentials are right, then Record-Route and relay to ``callee`` (a sipp
  UAS), as a carrier relays to the number called.
* in-dialog requests follow their Route (``loose_route``) or Request-URI.

The algorithm (``MD5`` or ``SHA-256``, RFC 8760) is the auth module's ``algorithm``.
Every request is logged as one line (``REQ <method> cseq=<n> expires=<Expires> ...``) so a test
can count attempts and see what was answered.

:class:`SipFront` runs the cluster's SIP front instead (issue 16): ``deploy/kamailio.cfg``
itself, unchanged, with its address, port, timers and node list given as ``-A`` defines
as an operator would; its log says when a node is taken out and put back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

from tests.e2e.peer_process import read_log, stop_process
from tests.e2e.sipp import free_port

KAMAILIO = shutil.which("kamailio") or "/usr/sbin/kamailio"
DEPLOY_CFG = Path(__file__).resolve().parents[2] / "deploy" / "kamailio.cfg"
MODULES = "/usr/lib/x86_64-linux-gnu/kamailio/modules"
REALM = "trunk.confero.test"

_CFG = """#!KAMAILIO
debug=2
log_stderror=yes
log_prefix="KAM "
children=2
tcp_children=2
auto_aliases=no
dns=no
rev_dns=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
mpath="{modules}"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "auth.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("auth", "algorithm", "{algorithm}")
modparam("auth", "secret", "confero-kamailio-test")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "min_expires", 1)
modparam("registrar", "default_expires", 60)

request_route {{
    xlog("L_ERR", "REQ $rm cseq=$cs expires=$hdr(Expires) proto=$pr from=$si:$sp auth={auth}\\n");
    if (!mf_process_maxfwd_header("10")) {{
        sl_send_reply("483", "Too Many Hops");
        exit;
    }}
    if (has_totag()) {{
        loose_route();
        t_relay();
        exit;
    }}
    if (is_method("CANCEL") || is_method("ACK")) {{
        if (t_check_trans()) {{
            t_relay();
        }}
        exit;
    }}
    if (is_method("REGISTER")) {{
        if (!pv_www_authenticate("{realm}", "{password}", "0")) {{
            www_challenge("{realm}", "1");
            exit;
        }}
        consume_credentials();
        if (!save("location")) {{
            sl_reply_error();
        }}
        exit;
    }}
    if ($rU == "{user}") {{
        if (!lookup("location")) {{
            sl_send_reply("404", "Not Found");
            exit;
        }}
        t_relay();
        exit;
    }}
    if (!pv_proxy_authenticate("{realm}", "{password}", "0")) {{
        proxy_challenge("{realm}", "1");
        exit;
    }}
    consume_credentials();
    record_route();
    {relay}
    t_relay();
    exit;
}}
"""

_REQ = re.compile(r"REQ (\S+) cseq=(\d+) expires=(\S*) proto=(\S+) from=\S+ auth=(.*)$")


def kamailio_available() -> bool:
    return Path(KAMAILIO).exists()


@dataclass(frozen=True)
class Seen:
    """One request Kamailio received."""

    method: str
    cseq: int
    auth: str  # the Authorization / Proxy-Authorization value, "" without
    expires: int | None  # its Expires header
    proto: str  # "udp" or "tcp"


class _KamailioProcess:
    """One unprivileged Kamailio on a free port of 127.0.0.1 with its own working and
    runtime directories, its log in ``workdir``; subclasses say how it is configured."""

    def __init__(self) -> None:
        self.port = free_port()
        self.workdir = Path(tempfile.mkdtemp("-kamailio"))
        self.process: asyncio.subprocess.Process | None = None

    def config_args(self) -> list[str]:
        """``-f <file>`` and any ``-A`` defines (files written into ``workdir``)."""
        raise NotImplementedError

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def log_path(self) -> Path:
        return self.workdir / "kamailio.log"

    @property
    def log(self) -> str:
        return read_log(self.log_path)

    async def start(self) -> Self:
        if not kamailio_available():
            raise RuntimeError(f"kamailio not found at {KAMAILIO} (apt-get install kamailio)")
        run = self.workdir / "run"
        run.mkdir()
        with self.log_path.open("wb") as out:
            self.process = await asyncio.create_subprocess_exec(
                KAMAILIO,
                *self.config_args(),
                "-DD", "-E",
                "-m", "32", "-M", "4",
                "-w", str(self.workdir),
                "-Y", str(run),
                "-P", str(run / "kamailio.pid"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        await self._ready()
        return self

    async def _ready(self) -> None:
        """Until the UDP port answers an OPTIONS (any response), or it died."""
        loop = asyncio.get_running_loop()
        got: asyncio.Future[bytes] = loop.create_future()

        class _Probe(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
                if not got.done():
                    got.set_result(data)

        transport, _ = await loop.create_datagram_endpoint(_Probe, local_addr=("127.0.0.1", 0))
        try:
            local = transport.get_extra_info("sockname")
            probe = (
                f"OPTIONS sip:probe@127.0.0.1:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{local[1]};branch=z9hG4bKprobe\r\n"
                f"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:probe@127.0.0.1>\r\n"
                f"Call-ID: probe@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\n"
                f"Content-Length: 0\r\n\r\n"
            ).encode()
            deadline = loop.time() + 15
            while not got.done():
                if self.process is not None and self.process.returncode is not None:
                    raise RuntimeError(f"kamailio exited:\n{self.log[-3000:]}")
                if loop.time() > deadline:
                    raise RuntimeError(f"kamailio did not answer:\n{self.log[-3000:]}")
                transport.sendto(probe, ("127.0.0.1", self.port))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(got), 0.2)
        finally:
            transport.close()

    async def stop(self) -> None:
        await stop_process(self.process, 3)
        if self.process is not None:  # its forked workers, if a SIGKILL orphaned them
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()


class Kamailio(_KamailioProcess):
    """The trunk of the dial-out tests: a registrar and a digest-challenging proxy."""

    def __init__(
        self,
        *,
        user: str,
        password: str,
        algorithm: str = "MD5",
        callee: tuple[str, int] | None = None,
    ) -> None:
        super().__init__()
        self.user = user
        self.password = password
        self.algorithm = algorithm
        self.callee = callee

    def seen(self, method: str | None = None) -> list[Seen]:
        """The requests received so far (only ``method`` if given), in order."""
        out = []
        for line in self.log.splitlines():
            match = _REQ.search(line)
            if match is None or (method is not None and match.group(1) != method):
                continue
            auth = match.group(5).replace("<null>", "").strip()
            expires = match.group(3)
            number = int(expires) if expires.isdigit() else None
            out.append(Seen(match.group(1), int(match.group(2)), auth, number, match.group(4)))
        return out

    def config(self) -> str:
        relay = f'$du = "sip:{self.callee[0]}:{self.callee[1]}";' if self.callee is not None else ""
        return _CFG.format(
            port=self.port,
            modules=MODULES,
            algorithm=self.algorithm,
            realm=REALM,
            user=self.user,
            password=self.password,
            relay=relay,
            auth="$hdr(Proxy-Authorization)$hdr(Authorization)",
        )

    def config_args(self) -> list[str]:
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(self.config())
        return ["-f", str(cfg)]


class SipFront(_KamailioProcess):
    """The cluster's one SIP address: ``deploy/kamailio.cfg`` as shipped, in front of
    ``nodes`` (their SIP addresses, dispatcher set 1), with the probe and failover timers
    given (seconds) instead of the sample's defaults."""

    def __init__(
        self,
        nodes: list[tuple[str, int]],
        *,
        probe_interval: int = 1,
        probe_threshold: int = 2,
        node_timeout: float = 2.0,
        domain: str = "sip.confero.test",
    ) -> None:
        super().__init__()
        self.nodes = nodes
        self.defines = {
            "SIP_ADDR": "127.0.0.1",
            "SIP_PORT": str(self.port),
            "SIP_DOMAIN": f'"{domain}"',
            "DISPATCHER_LIST": f'"{self.workdir / "dispatcher.list"}"',
            "PROBE_INTERVAL": str(probe_interval),
            "PROBE_THRESHOLD": str(probe_threshold),
            "NODE_TIMEOUT": str(round(node_timeout * 1000)),
            "CHILDREN": "2",
        }

    def config_args(self) -> list[str]:
        lines = [f"1 sip:{host}:{port}" for host, port in self.nodes]
        (self.workdir / "dispatcher.list").write_text("\n".join(lines) + "\n")
        defines = [arg for name, value in self.defines.items() for arg in ("-A", f"{name}={value}")]
        return ["-f", str(DEPLOY_CFG), *defines]

    def node_events(self, node: tuple[str, int]) -> list[str]:
        """``DOWN`` and ``UP`` as the front took ``node`` out and put it back, in order."""
        pattern = re.compile(rf"NODE (DOWN|UP) sip:{re.escape(node[0])}:{node[1]}\b")
        return [m.group(1) for m in pattern.finditer(self.log)]

    async def wait_event(
        self, node: tuple[str, int], event: str, *, after: int, within: float
    ) -> float:
        """Seconds until the front logs ``event`` ("DOWN"/"UP") for ``node`` beyond the
        first ``after`` events of it; AssertionError after ``within`` seconds."""
        start = time.monotonic()
        while event not in self.node_events(node)[after:]:
            if time.monotonic() - start > within:
                raise AssertionError(
                    f"no NODE {event} for {node} in {within} s:\n{self.log[-3000:]}"
                )
            await asyncio.sleep(0.1)
        return time.monotonic() - start
