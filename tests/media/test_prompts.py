"""Voice prompts: the catalog, the shipped clips, the words of counts and times, rendering.

These fail when a prompt is added to the catalog without regenerating the clips
(``scripts/gen_prompts.py``), when the phone code asks for an id nobody recorded, or when
a language's grammar for numbers and times produces an id that has no clip.
"""

from __future__ import annotations

import ast
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

from confero.domain.controls import KEYPAD
from confero.media.g711 import encode_ulaw
from confero.media.prompts import (
    BEEP,
    LANGUAGES,
    TEXTS,
    PromptLibrary,
    SayCount,
    SayTime,
    Speech,
    duration,
    number_words,
    words,
)
from confero.media.prompts.library import ITEM_GAP, WORD_GAP
from confero.media.resample import MIXER_RATE
from confero.media.tone import detect_frequency, level_dbfs, rms
from confero.phone import ivr

SRC = Path(__file__).resolve().parents[2] / "src" / "confero"
AUDIO = SRC / "media" / "prompts" / "audio"

_REQUIRED_IDS = """
welcome_press_1 are_you_still_there goodbye enter_conference_number invalid_conference_number
enter_pin invalid_pin too_many_attempts conference_starts_at conference_has_ended record_name
conference_full conference_locked_wait admission_denied there_are participants there_is_one
you_are_first you_are_muted you_are_unmuted muted_by_moderator announcements_off
announcements_on participants_present no_one_else unnamed_participant has_joined has_left louder
softer moderator_only all_muted all_unmuted conference_locked conference_unlocked
participant_removed you_were_removed host_ended ends_in_5_minutes conference_closed knocking
admitted enter_phone_number calling invite_failed invited_press_1 menu_intro not_allowed
menu_hash menu_star_1 menu_star_2 menu_star_3 menu_star_7 menu_star_9 menu_star_8 menu_star_30
menu_star_31 menu_star_21 menu_star_20 menu_star_11 menu_star_10
"""
REQUIRED = _REQUIRED_IDS.split()

#: Calls whose string arguments are prompt ids in ``confero.phone``.
PROMPT_CALLS = {"play", "render", "say", "_say", "_ask", "_announce"}


@pytest.fixture(scope="module")
def lib() -> PromptLibrary:
    return PromptLibrary()


def is_word_clip(prompt_id: str) -> bool:
    return prompt_id[0] in "nhdm" and prompt_id[1:2].isdigit()


# --- the catalog ---------------------------------------------------------------------------


def test_catalog_has_every_required_prompt_and_the_number_words() -> None:
    expected = set(REQUIRED)
    expected |= {f"n{n}" for n in range(100)} | {f"n{h * 100}" for h in range(1, 10)}
    expected |= {f"h{h}" for h in range(24)} | {f"d{d}" for d in range(1, 32)}
    expected |= {f"m{m}" for m in range(1, 13)}
    assert expected - set(TEXTS) == set()
    assert BEEP not in TEXTS  # synthesized, never spoken


def test_catalog_covers_the_same_ids_in_all_languages() -> None:
    for prompt_id, texts in TEXTS.items():
        assert tuple(texts) == LANGUAGES or set(texts) == set(LANGUAGES), prompt_id
        for lang, text in texts.items():
            assert text.strip() == text and text, (prompt_id, lang)


def test_the_languages_really_differ() -> None:
    for prompt_id in REQUIRED:
        texts = TEXTS[prompt_id]
        assert texts["nl"] != texts["en"] and texts["de"] != texts["pl"], prompt_id


@pytest.mark.parametrize(
    ("prompt_id", "expected"),
    [
        ("n21", {"en": "twenty-one", "nl": "eenentwintig", "de": "einundzwanzig"}),
        ("n22", {"nl": "tweeëntwintig", "pl": "dwadzieścia dwa"}),
        ("n1", {"nl": "één", "de": "eins"}),
        ("n100", {"en": "one hundred", "nl": "honderd", "de": "einhundert", "pl": "sto"}),
        ("n200", {"pl": "dwieście", "de": "zweihundert"}),
        ("h1", {"en": "one", "de": "ein", "pl": "pierwszej"}),
        ("h14", {"en": "two", "nl": "veertien", "de": "vierzehn", "pl": "czternastej"}),
        ("h0", {"en": "twelve", "de": "null"}),
        ("h21", {"pl": "dwudziestej pierwszej"}),
        ("d1", {"en": "the first", "nl": "één", "de": "ersten", "pl": "pierwszego"}),
        ("d3", {"de": "dritten", "en": "the third"}),
        ("d7", {"de": "siebten"}),
        ("d22", {"en": "the twenty-second", "de": "zweiundzwanzigsten"}),
        ("d31", {"pl": "trzydziestego pierwszego", "de": "einunddreißigsten"}),
        ("m3", {"en": "March", "nl": "maart", "de": "März", "pl": "marca"}),
        ("m12", {"pl": "grudnia"}),
    ],
)
def test_number_and_date_words_are_spelled_right(prompt_id: str, expected: dict[str, str]) -> None:
    for lang, text in expected.items():
        assert TEXTS[prompt_id][lang] == text


# --- the shipped clips ---------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_prompt_has_a_clip_of_plausible_length(lang: str) -> None:
    files = {path.stem: path for path in (AUDIO / lang).glob("*.ul")}
    assert set(files) == set(TEXTS), "run scripts/gen_prompts.py"
    for prompt_id, path in files.items():
        seconds = path.stat().st_size / 8000
        low, high = (0.1, 2.5) if is_word_clip(prompt_id) else (0.1, 9.0)
        assert low <= seconds <= high, (lang, prompt_id, seconds)


def test_the_audio_directory_stays_small() -> None:
    total = sum(path.stat().st_size for path in AUDIO.rglob("*.ul"))
    assert total < 9_000_000


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_rendered_prompt_is_speech_not_silence(lib: PromptLibrary, lang: str) -> None:
    samples = lib.render(["welcome_press_1"], lang)
    assert samples.dtype == np.int16
    assert duration(samples) > 1.0
    assert rms(samples) > 1000
    assert level_dbfs(samples) < -3  # normalized to a -3 dBFS peak, so the rms is lower


def test_english_and_dutch_prompts_differ(lib: PromptLibrary) -> None:
    en, nl = lib.render(["goodbye"], "en"), lib.render(["goodbye"], "nl")
    assert en.size != nl.size or not np.array_equal(en, nl)


# --- counts and times ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, 7, 12, 21, 22, 100, 102, 123, 999, 1234])
def test_every_count_is_said_with_recorded_clips(lang: str, n: int) -> None:
    ids = words(SayCount(n), lang)
    assert all(prompt_id in TEXTS for prompt_id in ids), ids


@pytest.mark.parametrize(
    ("n", "lang", "expected"),
    [
        (0, "en", ["you_are_first"]),
        (1, "pl", ["there_is_one"]),
        (7, "en", ["there_are", "n7", "participants"]),
        (21, "de", ["there_are", "n21", "participants"]),
        (123, "en", ["there_are", "n100", "and", "n23", "participants"]),
        (123, "nl", ["there_are", "n100", "n23", "participants"]),
        (7, "pl", ["there_are", "n7", "participants"]),
        (3, "pl", ["there_are_few", "n3", "participants_few"]),
        (2, "pl", ["there_are_few", "n2_fem", "participants_few"]),
        (22, "pl", ["there_are_few", "n20", "n2_fem", "participants_few"]),
        (12, "pl", ["there_are", "n12", "participants"]),
        (102, "pl", ["there_are_few", "n100", "n2_fem", "participants_few"]),
        (123, "pl", ["there_are_few", "n100", "n23", "participants_few"]),
        (125, "pl", ["there_are", "n100", "n25", "participants"]),
    ],
)
def test_counts_follow_each_languages_grammar(n: int, lang: str, expected: list[str]) -> None:
    assert words(SayCount(n), lang) == expected


def test_numbers_up_to_999_use_recorded_words_and_larger_ones_digits() -> None:
    for lang in LANGUAGES:
        for n in range(1000):
            assert all(prompt_id in TEXTS for prompt_id in number_words(n, lang)), (lang, n)
    assert number_words(0, "en") == ["n0"]
    assert number_words(300, "de") == ["n300"]
    assert number_words(2024, "nl") == ["n2", "n0", "n2", "n4"]
    with pytest.raises(ValueError):
        number_words(-1, "en")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("hour_minute", [(9, 5), (14, 30), (0, 0), (12, 10), (23, 59)])
@pytest.mark.parametrize("with_date", [False, True])
def test_every_time_is_said_with_recorded_clips(
    lang: str, hour_minute: tuple[int, int], with_date: bool
) -> None:
    ids = words(SayTime(datetime(2025, 3, 5, *hour_minute), with_date), lang)
    assert all(prompt_id in TEXTS for prompt_id in ids), ids


@pytest.mark.parametrize(
    ("hour", "minute", "with_date", "lang", "expected"),
    [
        (14, 30, False, "en", ["h14", "n30", "pm"]),
        (9, 5, True, "en", ["h9", "oh", "n5", "am", "date_on", "m3", "d5"]),
        (9, 0, False, "en", ["h9", "am"]),
        (14, 30, False, "nl", ["h14", "oclock", "n30"]),
        (9, 5, True, "nl", ["h9", "oclock", "n5", "date_on", "d5", "m3"]),
        (14, 30, False, "de", ["h14", "oclock", "n30"]),
        (9, 0, False, "de", ["h9", "oclock"]),
        (14, 30, False, "pl", ["h14", "n30"]),
        (9, 5, True, "pl", ["h9", "oh", "n5", "date_on", "d5", "m3"]),
    ],
)
def test_times_follow_each_languages_conventions(
    hour: int, minute: int, with_date: bool, lang: str, expected: list[str]
) -> None:
    assert words(SayTime(datetime(2025, 3, 5, hour, minute), with_date), lang) == expected


def test_the_ivr_speaks_the_same_dataclasses() -> None:
    assert ivr.SayCount is SayCount and ivr.SayTime is SayTime
    assert words("goodbye", "de") == ["goodbye"]


# --- the library -----------------------------------------------------------------------------


def test_a_clip_is_the_file_upsampled_to_48_khz(lib: PromptLibrary) -> None:
    for lang in LANGUAGES:
        clip = lib.clip("goodbye", lang)
        assert clip.size == 6 * (AUDIO / lang / "goodbye.ul").stat().st_size
        assert not clip.flags.writeable
        assert lib.clip("goodbye", lang) is clip  # cached


def test_render_joins_items_and_words_with_short_silences(lib: PromptLibrary) -> None:
    items: list[Speech] = ["goodbye", SayCount(7), BEEP]
    samples = lib.render(items, "nl")
    parts = ["goodbye", "there_are", "n7", "participants"]
    speech = sum(lib.clip(prompt_id, "nl").size for prompt_id in parts) + lib.beep().size
    gaps = 2 * round(ITEM_GAP * MIXER_RATE) + 2 * round(WORD_GAP * MIXER_RATE)
    assert samples.size == speech + gaps
    assert abs(PromptLibrary.duration(samples) - samples.size / MIXER_RATE) < 1e-9
    start = samples.size - lib.beep().size
    assert np.array_equal(samples[start:], lib.beep())
    assert not samples[start - round(ITEM_GAP * MIXER_RATE) : start].any()
    assert lib.render([], "en").size == 0


def test_missing_languages_fall_back_to_english(tmp_path: Path) -> None:
    (tmp_path / "en").mkdir()
    (tmp_path / "en" / "goodbye.ul").write_bytes(encode_ulaw(np.full(80, 1000, np.int16)))
    lib = PromptLibrary(tmp_path)
    assert np.array_equal(lib.clip("goodbye", "nl"), lib.clip("goodbye", "en"))
    assert lib.clip("goodbye", "fr").size == 480
    with pytest.raises(KeyError):
        lib.clip("no_such_prompt", "en")
    with pytest.raises(FileNotFoundError):
        lib.clip("louder", "en")


def test_unknown_prompt_ids_raise_key_error(lib: PromptLibrary) -> None:
    with pytest.raises(KeyError):
        lib.render(["goodbye", "no_such_prompt"], "en")


def test_the_beep_is_a_clean_1_khz_tone(lib: PromptLibrary) -> None:
    beep = lib.beep()
    assert beep.dtype == np.int16
    assert duration(beep) == pytest.approx(0.3)
    assert detect_frequency(beep, MIXER_RATE) == pytest.approx(1000, abs=2)
    assert level_dbfs(beep) == pytest.approx(-12, abs=0.5)
    assert abs(int(beep[0])) < 100 and abs(int(beep[-1])) < 100  # no click
    assert np.array_equal(lib.render([BEEP], "pl"), beep)


def test_hold_music_is_quiet_tonal_and_loops_without_a_seam(lib: PromptLibrary) -> None:
    music = lib.hold_music()
    assert music.dtype == np.int16
    assert 4.0 <= duration(music) <= 20.0
    assert 300 < rms(music) < 0.25 * 32767
    assert np.abs(music).max() <= 0.25 * 32767
    assert 200 < detect_frequency(music, MIXER_RATE) < 1200
    step = np.abs(np.diff(music.astype(np.int32))).max()
    assert abs(int(music[0]) - int(music[-1])) <= 2 * step  # the loop point is no jump


# --- the phone code asks only for recorded prompts ------------------------------------------


def _prompt_literals(node: ast.expr) -> list[str]:
    """String constants an argument can evaluate to (not those in conditions)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.List | ast.Tuple):
        return [s for elt in node.elts for s in _prompt_literals(elt)]
    if isinstance(node, ast.Starred):
        return _prompt_literals(node.value)
    if isinstance(node, ast.IfExp):
        return _prompt_literals(node.body) + _prompt_literals(node.orelse)
    return []


def _ids_used_by_phone_code() -> set[str]:
    ids: set[str] = set()
    for path in (SRC / "phone").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in PROMPT_CALLS:
                for arg in node.args:
                    ids.update(_prompt_literals(arg))
    return ids


def test_every_prompt_the_phone_code_plays_is_in_the_catalog() -> None:
    used = _ids_used_by_phone_code()
    assert {"welcome_press_1", "goodbye", "record_name"} <= used  # the scan finds them
    assert used - set(TEXTS) - {BEEP} == set()


def test_every_keypad_control_has_a_menu_entry() -> None:
    for control in KEYPAD:
        assert control.keys is not None
        prompt_id = "menu_hash" if control.keys == "#" else f"menu_star_{control.keys[1:]}"
        assert prompt_id in TEXTS, control.keys
