"""``ollama``: a ``Modelfile`` that points at the GGUF export, with a prompt template and
parameters, ready for ``ollama create NAME -f Modelfile``.

The GGUF comes from the ``gguf`` exporter of the same run (``export/gguf/``) when it ran first;
otherwise this exporter writes one next to the Modelfile. Ollama templates are Go templates, not
Jinja: ``prompt_format: qa`` (default) is the ``Question: ...\\nAnswer:`` format kinject trains
and evaluates with; ``chat`` translates a ChatML chat template (SmolLM2, Qwen) and refuses others.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Exporter, TrainResult
from kinject_plugins.exporters.loading import ExportError, export_step, load_tokenizer, require

if TYPE_CHECKING:
    from kinject.context import RunContext

QA_TEMPLATE = "{{ if .System }}{{ .System }}\n\n{{ end }}Question: {{ .Prompt }}\nAnswer:"
CHATML_TEMPLATE = (
    "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}"
    "<|im_start|>user\n{{ .Prompt }}<|im_end|>\n<|im_start|>assistant\n"
)


class OllamaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_format: Literal["qa", "chat"] = "qa"
    temperature: float = Field(default=0.2, ge=0.0)
    num_ctx: int | None = Field(default=None, ge=128)
    system: str = ""
    #: weight type of the GGUF written when the ``gguf`` exporter has not run
    outtype: Literal["f32", "f16", "q8_0"] = "f16"


class OllamaExporter(Exporter):
    """Writes ``Modelfile`` and checks it: the FROM file is a readable Llama GGUF."""

    name = "ollama"
    description = "Ollama Modelfile pointing at the GGUF export"
    Options = OllamaOptions
    opts: OllamaOptions

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        require("gguf", self.name)
        out_dir.mkdir(parents=True, exist_ok=True)
        written: list[Path] = []
        gguf_file = _sibling_gguf(out_dir)
        if gguf_file is None:
            from kinject_plugins.exporters.gguf import GGUFExporter

            gguf = GGUFExporter(outtype=self.opts.outtype)
            gguf.setup(self.context)
            written = gguf.export(result, out_dir, self.context)
            gguf_file = next(p for p in written if p.suffix == ".gguf")
        with export_step(self.name, "reading the tokenizer"):
            tokenizer = load_tokenizer(result)
        text = self.modelfile(gguf_file, out_dir, tokenizer, self.context)
        path = out_dir / "Modelfile"
        path.write_text(text, encoding="utf-8")
        with export_step(self.name, f"checking {path}"):
            verify_modelfile(path)
        return [path, *written]

    def modelfile(self, gguf_file: Path, out_dir: Path, tokenizer: Any, context: RunContext) -> str:
        """The Modelfile text: FROM, TEMPLATE, SYSTEM and PARAMETER lines."""
        template, stops = self._template(tokenizer)
        num_ctx = self.opts.num_ctx or _context_length(gguf_file)
        lines = [
            f"# {context.run_dir.name}: kinject export, create with: ollama create NAME -f "
            "Modelfile"
        ]
        lines.append(f"FROM {_relative(gguf_file, out_dir)}")
        lines.append(f"TEMPLATE {quote_value(template, triple=True)}")
        if self.opts.system:
            lines.append(f"SYSTEM {quote_value(self.opts.system, triple=True)}")
        lines.append(f"PARAMETER temperature {self.opts.temperature}")
        lines.append(f"PARAMETER num_ctx {num_ctx}")
        lines.extend(f"PARAMETER stop {quote_value(stop)}" for stop in stops)
        return "\n".join(lines) + "\n"

    def _template(self, tokenizer: Any) -> tuple[str, list[str]]:
        eos = [tokenizer.eos_token] if tokenizer.eos_token else []
        if self.opts.prompt_format == "qa":
            return QA_TEMPLATE, ["\nQuestion:", *eos]
        chat = getattr(tokenizer, "chat_template", None) or ""
        if "<|im_start|>" not in chat:
            raise ExportError(
                self.name, "prompt_format 'chat' needs a ChatML chat template; use 'qa'"
            )
        return CHATML_TEMPLATE, ["<|im_end|>", *eos]


def _sibling_gguf(out_dir: Path) -> Path | None:
    files = sorted((out_dir.parent / "gguf").glob("*.gguf"), key=lambda p: p.stat().st_mtime)
    return files[-1] if files else None


def _relative(target: Path, start: Path) -> str:
    import os

    rel = os.path.relpath(target.resolve(), start.resolve())
    return rel if rel.startswith(".") else f"./{rel}"


def _context_length(gguf_file: Path) -> int:
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_file)).fields.get("llama.context_length")
    return min(int(field.parts[field.data[0]][0]), 8192) if field else 2048


def quote_value(value: str, triple: bool = False) -> str:
    """``value`` as Ollama's parser reads it back. Modelfiles have no escape sequences: a value
    with a newline or an outer space goes in double quotes, in triple quotes when it holds one."""
    if '"""' in value:
        raise ExportError(
            "ollama", f"{value!r} cannot be written in a Modelfile (it holds triple quotes)"
        )
    if triple or '"' in value:
        return f'"""{value}"""'
    if "\n" in value or value != value.strip(" \t"):
        return f'"{value}"'
    return value


_INSTRUCTION = re.compile(r"^([A-Za-z]+)[ \t]+(.*)$", re.S)
_NAMED = ("PARAMETER", "MESSAGE")


def _unquote(value: str) -> str | None:
    """The value inside its quotes; None while a quote is still open (Ollama's ``unquote``)."""
    for mark in ('"""', '"'):
        if value.startswith(mark):
            closed = len(value) >= 2 * len(mark) and value.endswith(mark)
            return value[len(mark) : -len(mark)] if closed else None
    return value


def parse_modelfile(path: Path) -> dict[str, list[str]]:
    """Instruction -> values of a Modelfile; a quoted value may span lines, as in Ollama's parser.

    PARAMETER and MESSAGE values keep their name: ``"num_ctx 2048"``, ``"stop \\nQuestion:"``.
    """
    directives: dict[str, list[str]] = {}
    lines = iter(path.read_text(encoding="utf-8").splitlines())
    for line in lines:
        match = _INSTRUCTION.match(line.lstrip())
        if line.lstrip().startswith("#") or match is None:
            continue
        keyword, value = match.group(1).upper(), match.group(2)
        name = ""
        if keyword in _NAMED:  # PARAMETER <name> <value>, MESSAGE <role> <message>
            name, _, value = value.lstrip().partition(" ")
            name += " "
        while (inner := _unquote(value.strip())) is None:
            more = next(lines, None)
            if more is None:
                raise ExportError("ollama", f"{path}: the quoted {keyword} value is never closed")
            value += "\n" + more
        directives.setdefault(keyword, []).append(name + inner)
    return directives


def verify_modelfile(path: Path) -> None:
    """FROM must name a readable Llama GGUF; TEMPLATE must place the prompt."""
    from gguf import GGUFReader

    directives = parse_modelfile(path)
    unknown = set(directives) - {
        "FROM",
        "TEMPLATE",
        "SYSTEM",
        "PARAMETER",
        "ADAPTER",
        "LICENSE",
        "MESSAGE",
    }
    if unknown:
        raise ExportError("ollama", f"{path}: unknown directives {sorted(unknown)}")
    if len(directives.get("FROM", [])) != 1:
        raise ExportError("ollama", f"{path}: needs exactly one FROM line")
    target = (path.parent / directives["FROM"][0]).resolve()
    if not target.is_file():
        raise ExportError("ollama", f"{path}: FROM {target} does not exist")
    arch = GGUFReader(str(target)).fields["general.architecture"]
    if bytes(arch.parts[arch.data[0]]).decode() != "llama":
        raise ExportError("ollama", f"{target} is not a Llama GGUF")
    if not any("{{ .Prompt }}" in t for t in directives.get("TEMPLATE", [])):
        raise ExportError("ollama", f"{path}: TEMPLATE does not use {{{{ .Prompt }}}}")
