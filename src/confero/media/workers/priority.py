"""How a media worker asks the kernel for its core (issue 14's tick bound, issue 15 P4).

A tick that waits for a core is late for everyone in its rooms; a SIP answer or a page
that waits a few milliseconds is not. Two levers, as Asterisk's ``-p`` and FreeSWITCH's
``-rp`` offer theirs:

- ``nice`` steps (``CONFERO_MEDIA_NICE``): a bigger share of the cores under the fair
  scheduler, but a worker that wakes still waits for the running process's slice.
- a real-time priority (``CONFERO_MEDIA_REALTIME``, ``SCHED_RR`` 1-99): a worker that
  wakes runs at once, ahead of every ordinary process (the node, a database, sipp). The
  kernel's real-time throttling (``kernel.sched_rt_runtime_us``, 95% by default) keeps
  a worker that never sleeps from freezing the machine; the admission limits (issue 14)
  keep it from having that much to do.

Both need ``CAP_SYS_NICE`` to raise; refused, the worker logs it and runs as the node
does (a server that cannot get the priority still serves).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Priority:
    #: ``nice`` steps relative to the node: negative is ahead of it.
    nice: int = 0
    #: ``SCHED_RR`` priority; 0 leaves the worker in the fair scheduler.
    realtime: int = 0

    def __post_init__(self) -> None:
        assert -20 <= self.nice <= 19, "nice steps run from -20 to 19"
        assert 0 <= self.realtime <= 99, "real-time priorities run from 1 to 99 (0: off)"

    def argv(self) -> list[str]:
        return [str(self.nice), str(self.realtime)]

    @classmethod
    def parse(cls, argv: list[str]) -> Priority:
        return cls(*(int(a) for a in argv[:2]))

    def apply(self) -> None:
        """On this process; what the kernel refuses is logged, not raised."""
        if self.nice:
            try:
                os.setpriority(os.PRIO_PROCESS, 0, os.getpriority(os.PRIO_PROCESS, 0) + self.nice)
            except OSError as exc:
                log.warning("media worker: nice %+d refused (%s)", self.nice, exc)
        if self.realtime:
            try:
                os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(self.realtime))
            except OSError as exc:
                log.warning("media worker: SCHED_RR %d refused (%s)", self.realtime, exc)
