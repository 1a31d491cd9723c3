"""The audio source with a tiny random Whisper checkpoint: the real loader, decoder and filters.

Random weights cannot transcribe speech; these tests check the plumbing around the model: the
checkpoint is loaded through ``whisper.load_model``, silence and degenerate (looping) output give
no text, and kept segments carry timestamps.
"""

from __future__ import annotations

import pytest
from source_files import make_wav, needs_ffmpeg, read_outcome

from kinject.errors import ConfigError
from kinject_plugins.sources.audio import AudioSource

pytest.importorskip("whisper")
pytestmark = needs_ffmpeg

#: one temperature keeps the random model fast; thresholds off keep whatever it decodes
NO_FILTERS = {
    "temperature": [0.0],
    "no_speech_threshold": None,
    "logprob_threshold": None,
    "compression_ratio_threshold": None,
}


def test_silence_gives_no_text(tmp_path, tiny_whisper):
    outcome = read_outcome(
        AudioSource(model=str(tiny_whisper)), make_wav(tmp_path / "quiet.wav", 2, "silence")
    )
    assert not outcome.records and outcome.reason == "no_speech" and "silent" in outcome.detail


def test_decoded_segments_carry_timestamps(tmp_path, tiny_whisper):
    outcome = read_outcome(
        AudioSource(model=str(tiny_whisper), **NO_FILTERS), make_wav(tmp_path / "tone.wav", 3)
    )
    assert outcome.records, outcome.detail
    record = outcome.records[0]
    assert record["source"]["uri"].endswith("tone.wav")
    assert 0 <= record["meta"]["start"] <= record["meta"]["end"] <= 30
    segment = record["meta"]["segments"][0]
    assert set(segment) == {"start", "end", "text"}
    assert record["source"]["start"] == record["meta"]["start"]


def test_thresholds_drop_degenerate_output(tmp_path, tiny_whisper):
    # the random model loops on one token: compression ratio far above 2.4, so nothing is kept
    outcome = read_outcome(
        AudioSource(model=str(tiny_whisper), temperature=[0.0]), make_wav(tmp_path / "tone.wav", 3)
    )
    assert not outcome.records and outcome.reason == "no_speech" and "thresholds" in outcome.detail


def test_broken_audio_is_refused(tmp_path, tiny_whisper, files):
    source = AudioSource(model=str(tiny_whisper), **NO_FILTERS)
    assert (
        read_outcome(source, files("junk.mp3", b"ID3 this is no audio" * 10)).reason
        == "corrupt_audio"
    )
    wav = make_wav(tmp_path / "tone.wav", 1).read_bytes()
    truncated = files("trunc.wav", wav[:30])
    assert read_outcome(source, truncated).reason in ("corrupt_audio", "no_speech")


def test_duration_limit(tmp_path, tiny_whisper):
    outcome = read_outcome(
        AudioSource(model=str(tiny_whisper), max_duration_s=1), make_wav(tmp_path / "tone.wav", 3)
    )
    assert outcome.reason == "audio_too_long"


def test_model_location_problems_are_clear(tmp_path, run_context):
    with pytest.raises(ConfigError, match="no checkpoint file"):
        AudioSource(model=str(tmp_path / "missing.pt")).setup(run_context)
    source = AudioSource(model="base", model_dir=str(tmp_path), download=False)
    outcome = read_outcome(source, make_wav(tmp_path / "tone.wav", 1))
    assert "not in" in outcome.fatal and "checkpoint path" in outcome.fatal
    outcome = read_outcome(AudioSource(model="no-such-model"), make_wav(tmp_path / "tone2.wav", 1))
    assert "unknown Whisper model" in outcome.fatal
