"""Debian's Chromium driven by Playwright (never a downloaded browser): fake camera and
microphone, optionally a microphone that plays a WAV tone, audio that plays without a
click, and none of the background connections a closed network would refuse."""

from __future__ import annotations

import os
import wave
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_available() -> bool:
    return os.access(CHROMIUM, os.X_OK)


def tone_wav(path: Path, hz: float, seconds: float = 30.0) -> Path:
    """A WAV Chromium plays as the fake microphone (it loops the file)."""
    rate = 48_000
    t = np.arange(int(rate * seconds)) / rate
    samples = (9000 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


Launch = Callable[..., Awaitable[Page]]


@pytest.fixture
async def chromium(tmp_path: Path) -> AsyncIterator[Launch]:
    """``await chromium(url, tone_hz=None)`` -> a page in its own browser process (each
    process has its own fake microphone)."""
    if not chromium_available():
        pytest.skip("Debian's chromium is not installed (scripts/system-deps.sh test)")
    playwright = await async_playwright().start()
    browsers: list[Browser] = []
    contexts: list[BrowserContext] = []

    async def launch(url: str | None = None, *, tone_hz: float | None = None, **ctx: Any) -> Page:
        args = list(FLAGS)
        if tone_hz is not None:
            wav = tone_wav(tmp_path / f"tone-{tone_hz:g}-{len(browsers)}.wav", tone_hz)
            args.append(f"--use-file-for-fake-audio-capture={wav}")
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=args)
        browsers.append(browser)
        context = await browser.new_context(viewport={"width": 1280, "height": 800}, **ctx)
        contexts.append(context)
        page = await context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        if url is not None:
            await page.goto(url)
        return page

    errors: list[str] = []
    launch.errors = errors  # type: ignore[attr-defined]
    try:
        yield launch
    finally:
        for context in contexts:
            await context.close()
        for browser in browsers:
            await browser.close()
        await playwright.stop()
    assert not errors, f"JavaScript errors on the page: {errors}"


#: JavaScript: the dominant frequency (Hz) of what the page plays from ``#room-audio``
#: over about half a second, and its level; [0, 0] while nothing plays.
HEAR_JS = """
async () => {
  const el = document.getElementById('room-audio');
  if (!el || !el.srcObject) return [0, 0];
  if (!window.__confero_ear) {
    const ctx = new AudioContext();
    const src = ctx.createMediaStreamSource(el.srcObject);
    const an = ctx.createAnalyser();
    an.fftSize = 8192;
    src.connect(an);
    window.__confero_ear = {ctx, an};
  }
  const {ctx, an} = window.__confero_ear;
  await ctx.resume();
  await new Promise(r => setTimeout(r, 500));
  const bins = new Float32Array(an.frequencyBinCount);
  an.getFloatFrequencyData(bins);
  let best = 0;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[best]) best = i;
  return [best * ctx.sampleRate / an.fftSize, bins[best]];
}
"""


async def hears(page: Page, hz: float, tolerance: float = 25.0) -> bool:
    freq, level = await page.evaluate(HEAR_JS)
    return bool(abs(freq - hz) < tolerance and level > -70)
