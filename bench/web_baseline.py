"""The framework's own speed, the yardstick of ``bench.web_api`` (issue 17): a trivial
FastAPI route served by uvicorn with the loop and HTTP parser ``confero serve`` uses.

Run: uvicorn bench.web_baseline:app --loop uvloop --http httptools
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
