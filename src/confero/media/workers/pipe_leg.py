"""A leg whose audio lives on the node (a browser), mixed in a worker (issue 15 P4).

The node sends each tick's frame (``Frames``); the worker's tick pulls the newest one
once, and what the mix gives the leg goes back in the tick's ``Sent`` batch: shared
payloads encoded here (the Opus encode, a browser leg's largest cost), private mixes as
frames the node encodes. A frame arrives a tick after the browser's own tick pulled
it: the price of a process boundary, 20 ms at most.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from confero.media.opus import OpusCodec

Frame = npt.NDArray[np.int16]


class PipeLeg:
    def __init__(self, leg_id: str, codec: OpusCodec, out: list[tuple[str, bytes, bool]]) -> None:
        self.id = leg_id
        self._codec = codec
        self._out = out
        self._next: Frame | None = None

    @property
    def codec(self) -> OpusCodec:
        return self._codec

    def give(self, frame: bytes | None) -> None:
        """The node's newest frame of this leg (None: silent this tick)."""
        self._next = None if frame is None else np.frombuffer(frame, dtype=np.int16)

    def pull(self, now: float | None = None) -> Frame | None:
        frame, self._next = self._next, None
        return frame

    def send_frame(self, frame: Frame) -> None:
        self._out.append((self.id, frame.astype(np.int16).tobytes(), False))

    def send_encoded(self, payload: bytes) -> None:
        self._out.append((self.id, payload, True))
