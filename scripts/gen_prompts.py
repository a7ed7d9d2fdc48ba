"""Regenerate the voice prompt clips from the catalog with espeak-ng and sox.

Run from the repository root after changing ``src/confero/media/prompts/catalog.py``::

    apt-get install -y --no-install-recommends espeak-ng sox   # once (Debian/Ubuntu)
    .venv/bin/python scripts/gen_prompts.py                      # all languages
    .venv/bin/python scripts/gen_prompts.py --lang nl --force    # one language, rewrite all

Then commit ``src/confero/media/prompts/audio``. Why offline: the server ships fixed clips
(8 kHz mono G.711 µ-law, what a phone leg sends anyway) and needs no TTS at run time.

Per clip: ``espeak-ng -v <voice> -s <speed> -w tmp.wav "<text>"``, then sox trims the
leading and trailing silence, normalizes the peak to -3 dBFS and writes raw µ-law at
8 kHz. The output is deterministic, so the script is idempotent: a file whose bytes would
not change is left alone, and clips no longer in the catalog are deleted. It prints every
file it writes or deletes.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from confero.media.prompts.catalog import LANGUAGES, TEXTS  # noqa: E402

AUDIO = ROOT / "src" / "confero" / "media" / "prompts" / "audio"
VOICES = {"en": "en-gb", "nl": "nl", "de": "de", "pl": "pl"}
#: Words per minute: sentences a little slower than espeak's default 175 for the phone
#: band; the number, hour and date words a little faster (they are short, and that keeps
#: the audio directory under 9 MB, as tests/media/test_prompts.py asks).
SPEED = 170
WORD_SPEED = 180
#: Leading and trailing silence: drop until 20 ms above 1% of full scale (20 ms rather than
#: 50 ms so a short initial plosive such as the "t" of "twee" survives).
TRIM = ["silence", "1", "0.02", "1%", "reverse", "silence", "1", "0.02", "1%", "reverse"]


def is_word_clip(prompt_id: str) -> bool:
    """Numbers, hours, days and months (``n21``, ``h9``, ``d5``, ``m3``, ``n2_fem``)."""
    return prompt_id[0] in "nhdm" and prompt_id[1:2].isdigit()


def synthesize(text: str, language: str, speed: int, workdir: Path) -> bytes:
    """The µ-law bytes of ``text`` spoken in ``language`` at ``speed`` words per minute."""
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        wav, out = Path(tmp) / "tts.wav", Path(tmp) / "out.ul"
        espeak = ["espeak-ng", "-v", VOICES[language], "-s", str(speed), "-w", str(wav), text]
        subprocess.run(espeak, check=True, capture_output=True)
        # -D: no dither, so the same text always gives the same bytes (idempotent runs).
        sox = ["sox", "-D", "-R", str(wav), "-r", "8000", "-c", "1", "-t", "ul", str(out)]
        subprocess.run([*sox, *TRIM, "gain", "-n", "-3"], check=True, capture_output=True)
        return out.read_bytes()


def generate(languages: list[str], force: bool) -> int:
    """Write every clip of ``languages``; returns the number of files changed."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install espeak-ng sox")
    jobs = [(pid, lang) for lang in languages for pid in sorted(TEXTS)]
    changed = 0
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor() as pool:

        def run(job: tuple[str, str]) -> bytes:
            pid, lang = job
            speed = WORD_SPEED if is_word_clip(pid) else SPEED
            return synthesize(TEXTS[pid][lang], lang, speed, Path(tmp))

        results = pool.map(run, jobs)
        for (pid, lang), data in zip(jobs, results, strict=True):
            if not data:
                sys.exit(f"empty clip for {lang}/{pid}: {TEXTS[pid][lang]!r}")
            path = AUDIO / lang / f"{pid}.ul"
            path.parent.mkdir(parents=True, exist_ok=True)
            if force or not path.exists() or path.read_bytes() != data:
                path.write_bytes(data)
                changed += 1
                print(f"wrote {path.relative_to(ROOT)} ({len(data) / 8000:.2f} s)")
    for lang in languages:
        for stale in sorted((AUDIO / lang).glob("*.ul")):
            if stale.stem not in TEXTS:
                stale.unlink()
                changed += 1
                print(f"deleted {stale.relative_to(ROOT)}")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lang", action="append", choices=LANGUAGES, help="default: all")
    parser.add_argument("--force", action="store_true", help="rewrite unchanged files too")
    args = parser.parse_args()
    changed = generate(args.lang or list(LANGUAGES), args.force)
    total = sum(p.stat().st_size for p in AUDIO.rglob("*.ul"))
    print(f"{changed} file(s) changed; {AUDIO.relative_to(ROOT)} holds {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
