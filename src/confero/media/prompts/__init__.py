"""Recorded voice prompts in en, nl, de and pl, and the code that strings them together.

Why recorded: the clips are generated offline from :mod:`.catalog` by
``scripts/gen_prompts.py`` (espeak-ng) and shipped as package data, so the server needs
no TTS at run time. :mod:`.speech` turns counts and times into clip ids per language;
:class:`.library.PromptLibrary` loads the clips and renders them at the mixer rate.
"""

from confero.media.prompts.catalog import LANGUAGES, TEXTS, prompt_ids
from confero.media.prompts.library import BEEP, PromptLibrary, duration
from confero.media.prompts.speech import SayCount, SayTime, Speech, number_words, words

__all__ = [
    "BEEP",
    "LANGUAGES",
    "TEXTS",
    "PromptLibrary",
    "SayCount",
    "SayTime",
    "Speech",
    "duration",
    "number_words",
    "prompt_ids",
    "words",
]
