from __future__ import annotations

from pathlib import Path

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject_plugins.exporters.gguf import GGUFExporter
from kinject_plugins.exporters.ollama import OllamaExporter, parse_modelfile, verify_modelfile


def test_modelfile_points_at_the_gguf_export(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    export = run_context.run_dir / "export"
    GGUFExporter(outtype="q8_0").export(adapter_result, export / "gguf", run_context)
    paths = OllamaExporter(system="You answer legal questions.").export(
        adapter_result, export / "ollama", run_context
    )
    assert paths == [export / "ollama" / "Modelfile"]
    directives = parse_modelfile(paths[0])
    assert directives["FROM"] == ["../gguf/model-q8_0.gguf"]
    assert directives["TEMPLATE"] == [
        "{{ if .System }}{{ .System }}\n\n{{ end }}Question: {{ .Prompt }}\nAnswer:"
    ]
    assert directives["SYSTEM"] == ["You answer legal questions."]
    # a real newline: Modelfiles have no escapes
    assert "stop \nQuestion:" in directives["PARAMETER"]
    assert "num_ctx 512" in directives["PARAMETER"]


def test_writes_its_own_gguf_when_none_exported(
    adapter_result: TrainResult, run_context: RunContext
) -> None:
    out = run_context.run_dir / "export" / "ollama"
    paths = OllamaExporter(outtype="f32").export(adapter_result, out, run_context)
    assert out / "model-f32.gguf" in paths
    assert parse_modelfile(out / "Modelfile")["FROM"] == ["./model-f32.gguf"]


def test_chat_format_needs_chatml(adapter_result: TrainResult, run_context: RunContext) -> None:
    # the tiny tokenizer's chat template is "role: content", not ChatML
    with pytest.raises(KinjectError, match="needs a ChatML chat template"):
        OllamaExporter(prompt_format="chat").export(
            adapter_result, run_context.run_dir / "o", run_context
        )


def test_verify_rejects_broken_modelfiles(tmp_path: Path) -> None:
    path = tmp_path / "Modelfile"
    path.write_text('FROM ./missing.gguf\nTEMPLATE """{{ .Prompt }}"""\n')
    with pytest.raises(KinjectError, match="does not exist"):
        verify_modelfile(path)
    path.write_text("FROM ./a.gguf\nFROB x\n")
    with pytest.raises(KinjectError, match="unknown directives"):
        verify_modelfile(path)
