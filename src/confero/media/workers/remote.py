"""The node's side of a leg mixed in a media worker (issue 15 P4): what the call's code
reads and sets on a mix and a phone leg, forwarded as messages.

A setting is sent only when it changes; what only the worker knows (when the phone was
last heard, its RTCP figures) arrives every half second (``messages.Heard``), digits
as they come. How much of a prompt is left is counted here from the clock (hold music
tops itself up by it), so no round trip is needed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from confero.media.leg import LegState, RtpAudioLeg
from confero.media.mixer import RATE
from confero.media.phone_codecs import PhoneCodec, codec_for
from confero.media.rtcp_session import CallQuality
from confero.media.workers import messages as m
from confero.media.workers.channel import MAX_MESSAGE

Send = Callable[[Any], None]
#: Samples of a prompt per message (int16: two bytes each).
_CHUNK = MAX_MESSAGE // 2


class RemoteOverlay:
    def __init__(self, leg_id: str, send: Send) -> None:
        self._leg_id = leg_id
        self._send = send
        self._ends_at = 0.0

    def add(self, samples: npt.NDArray[np.int16]) -> None:
        if not samples.size:
            return
        data = samples.astype(np.int16)
        for start in range(0, data.size, _CHUNK):
            self._send(m.Overlay(self._leg_id, data[start : start + _CHUNK].tobytes()))
        now = time.monotonic()
        self._ends_at = max(self._ends_at, now) + data.size / RATE

    def clear(self) -> None:
        self._send(m.Overlay(self._leg_id, b"", clear=True))
        self._ends_at = 0.0

    @property
    def remaining(self) -> int:
        return max(0, int((self._ends_at - time.monotonic()) * RATE))


class RemoteMix:
    """A ``MixLeg`` in a worker: its four settings and its overlay."""

    def __init__(self, leg_id: str, send: Send, *, listening: bool) -> None:
        self.id = leg_id
        self._send = send
        self._values: dict[str, Any] = {
            "muted": False,
            "gain": 1.0,
            "listening": listening,
            "overlay_only": False,
        }
        self.overlay = RemoteOverlay(leg_id, send)

    def _set(self, name: str, value: Any) -> None:
        if self._values[name] != value:
            self._values[name] = value
            self._send(m.SetMix(self.id, name, value))

    muted = property(lambda self: self._values["muted"], lambda self, v: self._set("muted", v))
    gain = property(lambda self: self._values["gain"], lambda self, v: self._set("gain", v))
    listening = property(
        lambda self: self._values["listening"], lambda self, v: self._set("listening", v)
    )
    overlay_only = property(
        lambda self: self._values["overlay_only"], lambda self, v: self._set("overlay_only", v)
    )

    def replay(self) -> None:
        """Send every setting again: the leg's mix is new (its worker died, another one
        took the room, ``pool.NodeMedia._died``)."""
        for name, value in self._values.items():
            self._send(m.SetMix(self.id, name, value))


class RemoteRtpLeg:
    """A phone leg whose sockets a worker drives: the call's signalling still sets it
    (``phone.call_media``), the media timeout still reads it (``last_heard``)."""

    def __init__(self, state: LegState, room: str, send: Send) -> None:
        self.id = state.leg_id
        self.room = room
        self._send = send
        self.codec: PhoneCodec = codec_for(state.codec_name, state.payload_type)
        self._dtmf = state.dtmf_payload_type
        self.local_port = state.local_port
        self.remote = state.remote
        self._sending, self._held = state.sending, state.held
        self._last_heard = state.last_heard
        self._quality = state.rtcp.quality(self.codec.name)
        self.on_digit: Callable[[str], None] | None = None
        self.on_reception: Callable[[float, float], None] | None = None
        self.transport = None  # its socket is the worker's: no relay from here
        self._closed = False
        #: its sockets died with their worker (``NodeMedia``): the call ends at once,
        #: not after the media timeout, as Asterisk drops a channel whose media died
        self.lost = False

    # ------------------------------------------------------------ set by the call
    def _set(self, **values: Any) -> None:
        self._send(m.CallLeg(self.id, "set", (), values))

    @property
    def sending(self) -> bool:
        return self._sending

    @sending.setter
    def sending(self, value: bool) -> None:
        if value != self._sending:
            self._sending = value
            self._set(sending=value)

    @property
    def held(self) -> bool:
        return self._held

    @held.setter
    def held(self, value: bool) -> None:
        if value != self._held:
            self._held = value
            self._set(held=value)

    @property
    def last_heard(self) -> float:
        return self._last_heard

    @last_heard.setter
    def last_heard(self, value: float) -> None:
        if value > self._last_heard:
            self._last_heard = value
            self._set(last_heard=value)

    @property
    def dtmf_payload_type(self) -> int | None:
        return self._dtmf

    @dtmf_payload_type.setter
    def dtmf_payload_type(self, value: int | None) -> None:
        if value != self._dtmf:
            self._dtmf = value
            self._set(dtmf_payload_type=value)

    def set_remote(self, address: tuple[str, int], **kwargs: Any) -> None:
        self._send(m.CallLeg(self.id, "set_remote", (address,), kwargs))

    def set_codec(self, codec: PhoneCodec) -> None:
        self.codec = codec
        self._send(m.CallLeg(self.id, "set_codec", (codec.name, codec.payload_type), {}))

    def set_rtcp_remote(self, address: tuple[str, int] | None, *, mux: bool) -> None:
        self._send(m.CallLeg(self.id, "set_rtcp_remote", (address,), {"mux": mux}))

    # ------------------------------------------------------------ heard from the worker
    def heard(self, last_heard: float, quality: CallQuality) -> None:
        self._last_heard = max(self._last_heard, last_heard)
        self._quality = quality

    def quality(self) -> CallQuality:
        return self._quality

    def observe_reception(self, observer: Callable[[float, float], None] | None) -> None:
        self.on_reception = observer

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._send(m.RemoveLeg(self.room, self.id))

    @property
    def closed(self) -> bool:
        return self._closed


#: What the call's signalling calls on a phone leg (``CallLeg``), beside ``set_codec``.
_LEG_METHODS = frozenset({"set_remote", "set_rtcp_remote"})
#: What the call's signalling sets on a phone leg (``CallLeg`` with method ``set``).
_LEG_ATTRIBUTES = frozenset({"sending", "held", "last_heard", "dtmf_payload_type"})


def perform(call: m.CallLeg, leg: RtpAudioLeg) -> None:
    """What ``RemoteRtpLeg`` was asked, done on the leg that holds the sockets: in its
    worker, or on the node when the leg came back while the call was in flight. Only
    the names above: a message is data from another process, not a licence to call."""
    if call.method == "set":
        for name, value in call.kwargs.items():
            if name in _LEG_ATTRIBUTES:
                setattr(leg, name, value)
    elif call.method == "set_codec":
        name, payload_type = call.args
        leg.set_codec(codec_for(name, payload_type))
    elif call.method in _LEG_METHODS:
        getattr(leg, call.method)(*call.args, **call.kwargs)
