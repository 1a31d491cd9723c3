"""Recordings (wav, mp3, m4a, flac, ogg, ...) transcribed with openai-whisper and ffmpeg.

The model is a Whisper name (``base``, ``small``, ``large-v3``; cached under ``model_dir``) or the
path of a checkpoint file (``{"dims": ..., "model_state_dict": ...}`` as whisper saves it).
Silence and noise produce no text: digitally silent files are refused before decoding, and every
segment must pass the no-speech, log-probability and compression-ratio thresholds.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.context import kinject_home
from kinject.errors import ConfigError, InputError, MissingDependencyError, PluginError
from kinject.records import Record
from kinject_plugins.sources.dependencies import has_module, require_module, require_program

if TYPE_CHECKING:
    from kinject.context import RunContext

_SAMPLE_RATE = 16000  # what Whisper models expect
#: loaded models, per worker process: a model is loaded once, not once per file
_LOADED: dict[tuple[str, str, str], Any] = {}


class AudioOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: a Whisper model name or the path of a checkpoint file
    model: str = "base"
    #: where named models are cached (default ``$KINJECT_HOME/whisper``)
    model_dir: str | None = None
    #: fetch a named model that is not cached yet (needs internet)
    download: bool = True
    #: spoken language (``en``, ``zh``, ...); None detects it
    language: str | None = None
    device: str = "cpu"
    #: decoding temperatures; whisper falls back to the next when a segment fails a threshold
    temperature: list[float] = Field(default_factory=lambda: [0.0, 0.2, 0.4, 0.6, 0.8, 1.0])
    #: segments more likely silence than speech are dropped (None: keep)
    no_speech_threshold: float | None = 0.6
    #: segments decoded with a lower mean log-probability are dropped (None: keep)
    logprob_threshold: float | None = -1.0
    #: segments whose text compresses better than this are repetition loops (None: keep)
    compression_ratio_threshold: float | None = 2.4
    #: files whose RMS level is below this are silent and not transcribed (0: always transcribe)
    silence_rms: float = Field(default=1e-4, ge=0)
    #: longer recordings are refused (reason ``audio_too_long``)
    max_duration_s: float = Field(default=4 * 3600, gt=0)
    #: segments are merged into Records of at most this many characters
    max_chars: int = Field(default=1500, ge=100)
    #: feed the previous segment's text to the next (whisper's default; prone to loops on noise)
    condition_on_previous_text: bool = False


class AudioSource(Source):
    """Speech to text with Whisper; segment timestamps in ``source`` and ``meta``."""

    name = "audio"
    description = "speech in recordings transcribed with openai-whisper; timestamps in meta"
    extensions: ClassVar[tuple[str, ...]] = (
        ".wav", ".mp3", ".m4a", ".flac", ".ogg", ".opus", ".webm", ".aac", ".wma", ".mp4",
    )  # fmt: skip
    Options = AudioOptions
    opts: AudioOptions

    def setup(self, context: RunContext) -> None:
        # find_spec, not import: whisper pulls in torch, which only a worker that transcribes needs
        if not has_module("whisper"):
            raise MissingDependencyError("openai-whisper", "audio", "audio transcription")
        require_program("ffmpeg", "ffmpeg", "audio decoding")
        if _looks_like_path(self.opts.model) and not Path(self.opts.model).is_file():
            raise ConfigError(
                f"audio.model: no checkpoint file at {self.opts.model}", source="sources"
            )

    def read(self, uri: str) -> Iterator[Record]:
        duration = _probe_duration(uri)
        if duration is not None and duration > self.opts.max_duration_s:
            detail = f"{duration:.0f} s is over audio.max_duration_s={self.opts.max_duration_s:g}"
            raise InputError("audio_too_long", detail, uri)
        audio = _decode(uri)
        if audio.size == 0:
            raise InputError("corrupt_audio", "the file holds no audio samples", uri)
        if self.opts.silence_rms and float((audio**2).mean() ** 0.5) < self.opts.silence_rms:
            raise InputError("no_speech", "the recording is silent", uri)
        whisper = require_module("whisper", "openai-whisper", "audio", "audio transcription")
        result = whisper.transcribe(
            self._model(whisper),
            audio,
            temperature=tuple(self.opts.temperature),
            no_speech_threshold=self.opts.no_speech_threshold,
            logprob_threshold=self.opts.logprob_threshold,
            compression_ratio_threshold=self.opts.compression_ratio_threshold,
            condition_on_previous_text=self.opts.condition_on_previous_text,
            language=self.opts.language,
            fp16=self.opts.device != "cpu",
            verbose=None,
        )
        segments = [s for s in result["segments"] if self._is_speech(s) and s["text"].strip()]
        if not segments:
            detail = (
                f"no speech passed the thresholds in {len(result['segments'])} decoded segments"
            )
            raise InputError("no_speech", detail, uri)
        for group in _group(segments, self.opts.max_chars):
            yield self._record(group, uri, str(result.get("language") or ""))

    def _is_speech(self, segment: dict[str, Any]) -> bool:
        """Whisper keeps a failing segment when no fallback temperature is left; we do not."""
        o = self.opts
        if o.no_speech_threshold is not None and segment["no_speech_prob"] > o.no_speech_threshold:
            return False
        if o.logprob_threshold is not None and segment["avg_logprob"] < o.logprob_threshold:
            return False
        return not (
            o.compression_ratio_threshold is not None
            and segment["compression_ratio"] > o.compression_ratio_threshold
        )

    def _record(self, group: list[dict[str, Any]], uri: str, language: str) -> Record:
        start, end = round(group[0]["start"], 2), round(group[-1]["end"], 2)
        timestamps = [
            {"start": round(s["start"], 2), "end": round(s["end"], 2), "text": s["text"].strip()}
            for s in group
        ]
        meta = {"start": start, "end": end, "language": language, "segments": timestamps}
        text = " ".join(s["text"] for s in timestamps)
        return Record(
            text=text,
            source={"uri": uri, "start": start, "end": end},
            meta=meta,
            lineage=[self.name],
        )

    def _model(self, whisper: Any) -> Any:
        model_dir = self.opts.model_dir or str(kinject_home() / "whisper")
        key = (self.opts.model, model_dir, self.opts.device)
        if key not in _LOADED:
            _LOADED[key] = self._load(whisper, model_dir)
        return _LOADED[key]

    def _load(self, whisper: Any, model_dir: str) -> Any:
        name = self.opts.model
        if not _looks_like_path(name):
            if name not in whisper.available_models():
                raise PluginError(
                    f"audio.model: unknown Whisper model '{name}'; known: "
                    f"{', '.join(whisper.available_models())}"
                )
            cached = Path(model_dir) / Path(whisper._MODELS[name]).name
            if not cached.is_file() and not self.opts.download:
                raise PluginError(
                    f"audio.model: Whisper model '{name}' is not in {model_dir} and "
                    "audio.download is off; "
                    "copy the checkpoint there or set audio.model to a checkpoint path"
                )
        try:
            return whisper.load_model(name, device=self.opts.device, download_root=model_dir)
        except (OSError, RuntimeError) as exc:  # no network, a broken or partial checkpoint
            raise PluginError(f"audio.model: cannot load Whisper model '{name}': {exc}") from None


def _looks_like_path(model: str) -> bool:
    return "/" in model or "\\" in model or model.endswith((".pt", ".pth", ".bin"))


def _probe_duration(uri: str) -> float | None:
    """Duration in seconds from ffprobe's header read (no decoding); None when unknown."""
    try:
        out = subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", uri],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return float(out.stdout.strip())
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def _decode(uri: str) -> Any:
    """Mono 16 kHz float32 samples, decoded by ffmpeg as whisper.load_audio does."""
    import numpy as np

    command = [
        "ffmpeg", "-nostdin", "-threads", "0", "-i", uri,
        "-f", "s16le", "-ac", "1", "-acodec", "pcm_s16le", "-ar", str(_SAMPLE_RATE), "-",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, check=False)
    if done.returncode != 0:
        lines = [line for line in done.stderr.decode(errors="replace").splitlines() if line.strip()]
        reason = lines[-1] if lines else f"exit code {done.returncode}"
        raise InputError("corrupt_audio", f"ffmpeg cannot decode it: {reason}", uri)
    return np.frombuffer(done.stdout, np.int16).flatten().astype(np.float32) / 32768.0


def _group(segments: list[dict[str, Any]], max_chars: int) -> Iterator[list[dict[str, Any]]]:
    group: list[dict[str, Any]] = []
    size = 0
    for segment in segments:
        length = len(segment["text"].strip()) + 1
        if group and size + length > max_chars:
            yield group
            group, size = [], 0
        group.append(segment)
        size += length
    if group:
        yield group
