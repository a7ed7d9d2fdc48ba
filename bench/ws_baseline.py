"""The framework's own WebSocket fan-out, the yardstick of ``bench.ws_fanout`` (issue 17):
a trivial FastAPI app under uvicorn with the loop, HTTP parser and WebSocket
implementation ``confero serve`` uses. Clients open ``/ws``; ``POST /broadcast`` with
``{"text": ...}`` sends that text frame to every open socket, awaiting each send in
turn, as the framework's documentation's ``ConnectionManager`` does.

Run: uvicorn bench.ws_baseline:app --loop uvloop --http httptools
"""

from __future__ import annotations

import contextlib

from fastapi import FastAPI, WebSocket, WebSocketDisconnect
from pydantic import BaseModel

app = FastAPI()
sockets: set[WebSocket] = set()


class Broadcast(BaseModel):
    text: str


@app.websocket("/ws")
async def socket(websocket: WebSocket) -> None:
    await websocket.accept()
    sockets.add(websocket)
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()
    finally:
        sockets.discard(websocket)


@app.post("/broadcast")
async def broadcast(body: Broadcast) -> dict[str, int]:
    for websocket in list(sockets):
        with contextlib.suppress(Exception):
            await websocket.send_text(body.text)
    return {"sent": len(sockets)}
