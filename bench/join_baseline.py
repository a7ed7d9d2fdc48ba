"""The floor of ``bench.join_time`` (issue 17): the least a page can do to hear a server
over WebRTC, on the framework and the WebRTC library Confero uses. ``GET /`` is a page
with a button, ``#go``; its socket (``/ws``) is open from page load, as the room page's
is. On the click: ``getUserMedia``, an ``RTCPeerConnection`` (``window.pc``) with the
microphone, an offer sent once ICE gathering is complete (no trickle, as the room page
does), and the answer of an aiortc peer that sends audio (aiortc's silence track: Opus
packets every 20 ms). No rooms, no accounts, no mixer.

Run: uvicorn bench.join_baseline:app --loop uvloop --http httptools
"""

from __future__ import annotations

import contextlib

from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import AudioStreamTrack
from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from fastapi.responses import HTMLResponse

app = FastAPI()

PAGE = """<!doctype html>
<html><body><button id="go">Go</button>
<script>
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onmessage = async (e) => {
  await window.pc.setRemoteDescription(JSON.parse(e.data));
};
document.getElementById('go').onclick = async () => {
  const stream = await navigator.mediaDevices.getUserMedia({audio: true});
  const pc = new RTCPeerConnection();
  window.pc = pc;
  stream.getTracks().forEach((t) => pc.addTrack(t, stream));
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== 'complete') {
    await new Promise((resolve) => {
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') resolve();
      });
    });
  }
  ws.send(JSON.stringify({type: 'offer', sdp: pc.localDescription.sdp}));
};
</script></body></html>
"""


@app.get("/")
async def page() -> HTMLResponse:
    return HTMLResponse(PAGE)


@app.websocket("/ws")
async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    peers: list[RTCPeerConnection] = []
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                offer = await websocket.receive_json()
                pc = RTCPeerConnection()
                peers.append(pc)
                pc.addTrack(AudioStreamTrack())
                await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
                await pc.setLocalDescription(await pc.createAnswer())
                answer = pc.localDescription
                await websocket.send_json({"type": answer.type, "sdp": answer.sdp})
    finally:
        for pc in peers:
            await pc.close()
