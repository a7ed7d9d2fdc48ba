"""Phone callers and recordings (issue 12): every caller hears "this conference is being
recorded" when it starts and on entering while it runs, and "the recording has stopped";
the caller's voice is in the stored file (the media engine's recorder, no prompts)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from confero.app.conferences import build_command
from confero.app.services import Services
from confero.config import Settings
from confero.domain.roles import Role
from confero.domain.rooms import Room
from confero.media.recording import EngineRecorder
from confero.phone.call import Samples
from confero.phone.ivr import Speech
from confero.phone.stack import PhoneStack
from tests.media.ogg import decode, longest_tone
from tests.phone.support import eventually, join

Said = list[tuple[object, ...]]


def prompts_said(phone: PhoneStack, monkeypatch: pytest.MonkeyPatch) -> Said:
    said: Said = []
    render = phone.bridge.prompts.render

    def spy(items: Sequence[Speech], language: str) -> Samples:
        said.append(tuple(items))
        return render(items, language)

    monkeypatch.setattr(phone.bridge.prompts, "render", spy)
    return said


async def api(services: Services, room: Room, name: str) -> None:
    await services.conferences.command(room, build_command(name, by=None, by_role=Role.MODERATOR))


async def test_callers_hear_the_recording_prompts_and_their_voice_is_recorded(
    phone: PhoneStack,
    room: Room,
    services: Services,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services.recordings.attach(EngineRecorder(phone.engine, settings.data_dir / "recording"))
    said = prompts_said(phone, monkeypatch)
    started = ("recording_started",)
    host = await join(phone, room, room.admin_pin, services)
    guest = None
    try:
        await asyncio.sleep(2.5)  # the count prompt is over
        host.start_tone(440)
        await api(services, room, "record_start")
        await eventually(lambda: said.count(started) == 1, 5)

        guest = await join(phone, room, room.pin, services)  # enters while it runs
        await eventually(lambda: said.count(started) == 2, 8)
        await asyncio.sleep(1.0)

        await api(services, room, "record_stop")
        await eventually(lambda: said.count(("recording_stopped",)) == 2, 5)

        async def stored() -> bool:
            return len(await services.recordings.list(room.id)) == 1

        await eventually(stored, 5)
        (rec,) = await services.recordings.list(room.id)
        pcm = decode(services.recordings.path(rec))
        assert longest_tone(pcm, 440) >= 1.0, "the caller's tone is in the recording"
    finally:
        await host.hangup()
        if guest is not None:
            await guest.hangup()
        await services.recordings.close()
