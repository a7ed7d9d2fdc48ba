"""Media workers: a node's mixing on every core (issue 15 P4, issue 14's tick bound).

One event loop cannot give a conference of 200 callers a tick that is never late while
it also answers SIP and HTTP: the tick's work and the signalling's wait on each other.
With ``CONFERO_MEDIA_WORKERS`` > 0 each conference's mix runs in one of that many worker
processes (``process.py``), each with its own event loop, its own media clock and its
own core; the node's process keeps SIP, HTTP, the conference actors and the voice menu.

* A phone call's RTP socket is opened by the node (its port is in our SDP) and handed,
  with the leg's state (``media.leg.LegState``: latch, SSRC and sequence numbers, RTCP),
  to the worker of its room when the caller enters the room (``SCM_RIGHTS`` over the
  worker's channel). From then on the worker reads and writes it; the node keeps a
  proxy (``remote.RemoteRtpLeg``) that forwards what the call's signalling changes
  (re-INVITE, hold) and hears digits, when the phone was last heard and its RTCP
  figures.
* A browser's audio stays on the node (aiortc's connection is signalling's business):
  every tick the node sends the worker the browser's frame and gets back the encoded mix
  (``pipe_leg.py``): the Opus encode, the largest part of a browser leg, runs there.
* The voice menu (before a caller is in a room) mixes on the node, as before.

Why a channel of our own (``channel.py``): file descriptors cross only by
``sendmsg``; ``multiprocessing`` pickles sockets through a resource sharer thread per
process, which is one more thread next to the tick.
"""
