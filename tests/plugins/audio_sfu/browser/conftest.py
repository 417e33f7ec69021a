"""Headless Chromium (Debian's) for the audio tests: a fake microphone that plays a
WAV the fixture generates, loopback ICE, and sound allowed without a gesture."""

from __future__ import annotations

import array
import math
import wave
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser

from tests.chromium import launch_chromium

WAV_FREQUENCY = 700.0


def write_tone_wav(path: Path, frequency: float, seconds: float = 2.0, rate: int = 48000) -> Path:
    """A mono 16-bit WAV of a sine at FREQUENCY (Chromium loops it as the microphone)."""
    step = 2 * math.pi * frequency / rate
    # A whole number of periods, so the loop has no click.
    count = round(seconds * frequency) * rate // int(frequency)
    samples = array.array("h", (int(16000 * math.sin(step * i)) for i in range(count)))
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())
    return path


# Package scope, like tests/browser: Playwright's sync API leaves an event loop marked
# running in this thread, which must not leak into asyncio tests elsewhere.
@pytest.fixture(scope="package")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    wav = write_tone_wav(tmp_path_factory.mktemp("wav") / "tone.wav", WAV_FREQUENCY)
    extra = [
        f"--use-file-for-fake-audio-capture={wav}",
        "--autoplay-policy=no-user-gesture-required",
    ]
    with launch_chromium(extra) as browser:
        yield browser
