"""The sft trainer's precision choice."""

from __future__ import annotations

import pytest

from kinject.errors import ConfigError
from kinject_plugins.trainers import sft


def test_auto_uses_bf16_on_a_cpu_with_native_bf16(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sft, "cpu_has_bf16", lambda: True)
    assert sft.mixed_precision("auto", cuda=False) == (True, False)


def test_auto_is_fp32_on_other_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sft, "cpu_has_bf16", lambda: False)
    assert sft.mixed_precision("auto", cuda=False) == (False, False)


def test_explicit_choices() -> None:
    assert sft.mixed_precision("fp32", cuda=False) == (False, False)
    assert sft.mixed_precision("bf16", cuda=False) == (True, False)
    with pytest.raises(ConfigError, match="fp16 needs a CUDA GPU"):
        sft.mixed_precision("fp16", cuda=False)
