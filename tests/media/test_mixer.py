"""The mixer as listeners notice it: who hears whom, how loud, and what is shared."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from confero.media.mixer import FRAME, HANGOVER, RATE, Mixer, gain_for_level, silence


def tone(freq: float, amplitude: float = 8000.0, frames: int = 1) -> npt.NDArray[np.int16]:
    t = np.arange(FRAME * frames) / RATE
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def heard(frame: npt.NDArray[np.int16], freq: float) -> float:
    """Amplitude of ``freq`` in the frame (20 ms -> 50 Hz bins; test tones sit on bins)."""
    spectrum = np.abs(np.fft.rfft(frame.astype(np.float64))) * 2 / frame.size
    return float(spectrum[round(freq * frame.size / RATE)])


def outputs(
    mixer: Mixer, inputs: dict[str, npt.NDArray[np.int16] | None]
) -> dict[str, npt.NDArray[np.int16]]:
    return {leg: g.frame for g in mixer.tick(inputs) for leg in g.legs}


def make(*legs: str) -> Mixer:
    m = Mixer()
    for leg in legs:
        m.add_leg(leg)
    return m


def test_mix_minus_each_hears_the_others_not_itself() -> None:
    m = make("a", "b", "c")
    out = outputs(m, {"a": tone(400), "b": tone(1000), "c": None})
    assert heard(out["a"], 1000) > 7000 and heard(out["a"], 400) < 1
    assert heard(out["b"], 400) > 7000 and heard(out["b"], 1000) < 1
    assert heard(out["c"], 400) > 7000 and heard(out["c"], 1000) > 7000


def test_muted_leg_reaches_nobody_but_still_hears() -> None:
    m = make("a", "b")
    m.legs["a"].muted = True
    out = outputs(m, {"a": tone(400), "b": tone(1000)})
    assert heard(out["b"], 400) < 1
    assert heard(out["a"], 1000) > 7000


def test_listeners_who_do_not_speak_share_one_output() -> None:
    m = make("a", "b", "c", "d")
    groups = m.tick({"a": tone(400), "b": None, "c": None, "d": None})
    shared = [g for g in groups if g.shared]
    assert len(shared) == 1 and sorted(shared[0].legs) == ["b", "c", "d"]
    assert len(groups) == 2  # the speaker's mix-minus and the one shared full mix


def test_listening_gain_changes_only_that_listener() -> None:
    m = make("a", "b", "c")
    m.legs["b"].gain = gain_for_level(4)
    out = outputs(m, {"a": tone(400, 2000), "b": None, "c": None})
    ratio = heard(out["b"], 400) / heard(out["c"], 400)
    assert abs(ratio - 10 ** (12 / 20)) < 0.05
    assert gain_for_level(-4) < 1 < gain_for_level(1)


def test_loud_sum_clips_instead_of_wrapping() -> None:
    m = make("a", "b", "c")
    loud = np.full(FRAME, 30000, dtype=np.int16)
    out = outputs(m, {"a": loud, "b": loud, "c": None})
    assert out["c"].min() == 32767


def test_prompt_to_one_leg_plays_over_the_mix_for_that_leg_only() -> None:
    m = make("a", "b", "c")
    m.play_to("b", tone(2000, frames=2))
    for _ in range(2):
        out = outputs(m, {"a": tone(400), "b": None, "c": None})
        assert heard(out["b"], 2000) > 7000 and heard(out["b"], 400) > 7000
        assert heard(out["c"], 2000) < 1
    out = outputs(m, {"a": tone(400), "b": None, "c": None})
    assert heard(out["b"], 2000) < 1  # the prompt is over


def test_room_announcement_reaches_everyone_listening_not_the_ivr() -> None:
    m = make("a", "b")
    m.add_leg("ivr", listening=False)
    m.play_to_room(tone(600))
    out = outputs(m, {"a": tone(400), "b": None, "ivr": tone(1000)})
    assert heard(out["a"], 600) > 7000 and heard(out["b"], 600) > 7000
    assert heard(out["ivr"], 600) < 1 and heard(out["ivr"], 400) < 1
    # nor does the caller still in the IVR reach the room
    assert heard(out["b"], 1000) < 1


def test_hold_music_replaces_the_room_for_a_waiting_leg() -> None:
    m = make("a", "lobby")
    m.legs["lobby"].overlay_only = True
    m.play_to("lobby", tone(300))
    out = outputs(m, {"a": tone(400), "lobby": None})
    assert heard(out["lobby"], 300) > 7000 and heard(out["lobby"], 400) < 1


def test_recorder_gets_every_voice_and_no_prompt() -> None:
    m = make("a", "b")
    got: list[npt.NDArray[np.int16]] = []
    m.recorders.append(got.append)
    m.play_to_room(tone(700))  # an entry announcement
    m.play_to("a", tone(1500))  # a prompt for one caller
    m.tick({"a": tone(400), "b": tone(1000)})
    assert heard(got[0], 400) > 7000 and heard(got[0], 1000) > 7000
    assert heard(got[0], 700) < 1 and heard(got[0], 1500) < 1


def test_removed_leg_gets_nothing_and_silence_in_is_silence_out() -> None:
    m = make("a", "b")
    m.remove_leg("b")
    out = outputs(m, {"a": silence(), "b": tone(400)})
    assert set(out) == {"a"} and not out["a"].any()


def test_a_leg_that_just_fell_silent_keeps_its_own_stream() -> None:
    """The shared mix's encoder still holds the end of this leg's own voice; joining it
    at once would play that back to the speaker after a jitter-buffer gap."""
    m = Mixer()
    m.add_leg("a")
    m.add_leg("b")
    m.tick({"a": tone(440), "b": None})
    for _ in range(HANGOVER):
        groups = m.tick({"a": None, "b": None})
        a_group = next(g for g in groups if "a" in g.legs)
        assert not a_group.shared and a_group.legs == ["a"]
    groups = m.tick({"a": None, "b": None})
    assert [g.legs for g in groups if g.shared] == [["a", "b"]]


def test_a_narrowband_room_plays_48k_prompts_and_records_at_48k() -> None:
    """Issue 15: an all-G.711 room mixes at 8 kHz, but prompts are queued and counted
    in 48 kHz samples as everywhere else, and the recording stays at 48 kHz."""
    m = Mixer(rate=8000)
    m.add_leg("caller")
    m.add_leg("other")
    recorded: list[npt.NDArray[np.int16]] = []
    m.recorders.append(recorded.append)
    m.play_to("caller", tone(1000, frames=10))
    assert m.legs["caller"].overlay.remaining == 10 * FRAME
    voice = (8000 * np.sin(2 * np.pi * 400 * np.arange(1600) / 8000)).astype(np.int16)
    frames = []
    for i in range(10):
        out = outputs(m, {"caller": None, "other": voice[i * 160 : (i + 1) * 160]})
        assert out["caller"].size == 160 and out["other"].size == 160
        frames.append(out["caller"])
    caller = np.concatenate(frames[2:])  # past the resampling filter's delay
    spectrum = np.abs(np.fft.rfft(caller.astype(np.float64)))
    freqs = np.fft.rfftfreq(caller.size, 1 / 8000)
    assert spectrum[np.abs(freqs - 1000).argmin()] > 0.3 * spectrum.max()  # the prompt
    assert spectrum[np.abs(freqs - 400).argmin()] > 0.3 * spectrum.max()  # the other's voice
    assert m.legs["caller"].overlay.remaining == 0
    assert all(r.size == FRAME for r in recorded)
    assert heard(recorded[-1], 400) > 4000  # the voice, brought up to 48 kHz


def test_a_room_changes_rate_without_losing_its_legs() -> None:
    m = Mixer()
    m.add_leg("a")
    m.add_leg("b")
    m.set_rate(8000)
    out = outputs(m, {"a": np.full(160, 1000, np.int16), "b": None})
    assert out["b"].size == 160 and int(out["b"][0]) == 1000
    m.set_rate(RATE)
    out = outputs(m, {"a": tone(1000), "b": None})
    assert out["b"].size == FRAME and heard(out["b"], 1000) > 7000
