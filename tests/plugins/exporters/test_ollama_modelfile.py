"""The exported Modelfile read with a parser written from Ollama's documented format.

https://docs.ollama.com/modelfile: ``# comment`` lines and ``INSTRUCTION arguments`` lines;
instructions are not case sensitive; a value may be quoted with ``"`` or ``\"\"\"`` and then
span lines; there are no escape sequences (Ollama's parser takes the text between the quotes
as it is). PARAMETER takes ``<name> <value>`` from the table of valid parameters, MESSAGE
``<role> <message>``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject.evaluation import format_prompt
from kinject_plugins.exporters.gguf import GGUFExporter
from kinject_plugins.exporters.ollama import OllamaExporter, parse_modelfile, quote_value

INSTRUCTIONS = {"FROM", "PARAMETER", "TEMPLATE", "SYSTEM", "ADAPTER", "LICENSE", "MESSAGE"}
#: the documented parameters and the type of their value
PARAMETERS = {
    "num_ctx": int,
    "repeat_last_n": int,
    "repeat_penalty": float,
    "temperature": float,
    "seed": int,
    "stop": str,
    "num_predict": int,
    "top_k": int,
    "top_p": float,
    "min_p": float,
}
TEMPLATE_VARIABLES = {".System", ".Prompt", ".Response"}


def read_modelfile(text: str) -> list[tuple[str, str]]:
    """(instruction, value) in file order; PARAMETER and MESSAGE values as ``"name value"``."""
    commands: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        line_end = text.find("\n", pos) if "\n" in text[pos:] else len(text)
        line = text[pos:line_end].strip()
        if not line or line.startswith("#"):
            pos = line_end + 1
            continue
        word = re.match(r"[A-Za-z]+", line)
        assert word and line[word.end() : word.end() + 1] in (" ", "\t"), (
            f"not an instruction: {line!r}"
        )
        instruction = word.group().upper()
        start = text.index(word.group(), pos) + word.end()
        prefix = ""
        if instruction in ("PARAMETER", "MESSAGE"):
            name = re.match(r"[ \t]+(\w+)[ \t]+", text[start:])
            assert name, f"{instruction} needs a name and a value: {line!r}"
            prefix, start = name.group(1) + " ", start + name.end()
        value, pos = read_value(text, start)
        commands.append((instruction, prefix + value))
    return commands


def read_value(text: str, start: int) -> tuple[str, int]:
    """One value from ``start``, and where the next line begins. A quoted value ends at the first
    line end where the text so far, trimmed, ends with its opening quote (as Ollama reads it)."""
    line_end = start
    while True:
        line_end = text.find("\n", line_end)
        line_end = len(text) if line_end < 0 else line_end
        value = text[start:line_end].strip(" \t\n")
        mark = next((m for m in ('"""', '"') if value.startswith(m)), "")
        if not mark:
            return value, line_end + 1
        if len(value) >= 2 * len(mark) and value.endswith(mark):
            return value[len(mark) : -len(mark)], line_end + 1
        assert line_end < len(text), "a quoted value is never closed"
        line_end += 1


def render(template: str, prompt: str, system: str = "") -> str:
    """The Go-template subset the QA template uses: ``{{ if .System }}...{{ end }}``, variables."""
    for variable in re.findall(r"{{-?\s*(?:if\s+)?(\.\w+)\s*-?}}", template):
        assert variable in TEMPLATE_VARIABLES, f"undocumented template variable {variable}"
    text = re.sub(
        r"{{ if \.System }}(.*?){{ end }}",
        lambda m: m.group(1) if system else "",
        template,
        flags=re.S,
    )
    assert "{{ if" not in text and "{{ end" not in text, (
        "template constructs this check does not know"
    )
    return text.replace("{{ .System }}", system).replace("{{ .Prompt }}", prompt)


@pytest.fixture
def modelfile(adapter_result: TrainResult, run_context: RunContext) -> Path:
    export = run_context.run_dir / "export"
    GGUFExporter(outtype="q8_0").export(adapter_result, export / "gguf", run_context)
    system = 'You answer questions about "Veloria".\nSay when you do not know.'
    OllamaExporter(system=system, temperature=0.0).export(
        adapter_result, export / "ollama", run_context
    )
    return export / "ollama" / "Modelfile"


def test_modelfile_follows_the_documented_format(
    modelfile: Path, adapter_result: TrainResult
) -> None:
    from transformers import AutoTokenizer

    commands = read_modelfile(modelfile.read_text(encoding="utf-8"))
    assert commands[0][0] == "FROM" and [c for c, _ in commands].count("FROM") == 1
    assert {c for c, _ in commands} <= INSTRUCTIONS
    assert (modelfile.parent / commands[0][1]).resolve().is_file()
    params: dict[str, list[str]] = {}
    for instruction, value in commands:
        if instruction == "PARAMETER":
            name, _, raw = value.partition(" ")
            assert name in PARAMETERS, f"undocumented parameter {name}"
            PARAMETERS[name](raw)  # int("2048"), float("0.0"): a value of the documented type
            params.setdefault(name, []).append(raw)
    eos = AutoTokenizer.from_pretrained(str(adapter_result.base_model)).eos_token
    assert params["stop"] == ["\nQuestion:", eos]  # a real newline, not a backslash and an n
    assert params["temperature"] == ["0.0"] and int(params["num_ctx"][0]) > 0
    assert (
        dict(commands)["SYSTEM"]
        == 'You answer questions about "Veloria".\nSay when you do not know.'
    )


def test_template_asks_what_kinject_trained_and_evaluated(modelfile: Path) -> None:
    template = dict(read_modelfile(modelfile.read_text(encoding="utf-8")))["TEMPLATE"]
    question = "Within how many days does the Harbor Court hear appeals?"
    assert render(template, question) == format_prompt(question)
    assert render(template, question, system="Be brief.") == "Be brief.\n\n" + format_prompt(
        question
    )


def test_exporter_parser_reads_what_the_documented_parser_reads(modelfile: Path) -> None:
    commands = read_modelfile(modelfile.read_text(encoding="utf-8"))
    expected: dict[str, list[str]] = {}
    for instruction, value in commands:
        expected.setdefault(instruction, []).append(value)
    assert parse_modelfile(modelfile) == expected


@pytest.mark.parametrize(
    "value", ["plain", "\nQuestion:", " padded ", 'say "hi"', "two\nlines", '"quoted"']
)
def test_values_survive_quoting(value: str, tmp_path: Path) -> None:
    path = tmp_path / "Modelfile"
    path.write_text(
        f"FROM ./m.gguf\nPARAMETER stop {quote_value(value)}\nSYSTEM "
        f"{quote_value(value, triple=True)}\n"
    )
    assert read_modelfile(path.read_text()) == [
        ("FROM", "./m.gguf"),
        ("PARAMETER", f"stop {value}"),
        ("SYSTEM", value),
    ]
    assert parse_modelfile(path)["PARAMETER"] == [f"stop {value}"]


def test_values_with_triple_quotes_are_refused() -> None:
    with pytest.raises(KinjectError, match="cannot be written in a Modelfile"):
        quote_value('a """ b')


def test_unclosed_quote_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "Modelfile"
    path.write_text('FROM ./m.gguf\nTEMPLATE """{{ .Prompt }}\n')
    with pytest.raises(KinjectError, match="never closed"):
        parse_modelfile(path)
