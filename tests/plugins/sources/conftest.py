"""Fixtures of the source tests: a tiny Whisper checkpoint and a file writer."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def tiny_whisper(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Whisper checkpoint with random weights and tiny dimensions (real format, real loader)."""
    torch = pytest.importorskip("torch")
    model_module = pytest.importorskip("whisper.model")
    dims = model_module.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=2, n_audio_layer=1,
        n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=2, n_text_layer=1,
    )  # fmt: skip
    torch.manual_seed(0)
    model = model_module.Whisper(dims)
    path = tmp_path_factory.mktemp("whisper") / "tiny-random.pt"
    torch.save({"dims": vars(dims), "model_state_dict": model.state_dict()}, path)
    return path


@pytest.fixture
def files(tmp_path: Path) -> Callable[[str, bytes | str], Path]:
    """``files(name, content)`` writes a file under the test's temporary folder."""

    def write(name: str, content: bytes | str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
        return path

    return write
