"""Templates of a new plugin package: its pyproject, README and one component module per kind.

``string.Template`` placeholders: ``$name`` (registry name), ``$module`` (import name),
``$dist`` (distribution), ``$cls`` (class name), ``$kind`` and ``$hook``. The test each package
ships is in :mod:`kinject_plugins.scaffold.generated_tests`.
"""

from __future__ import annotations

PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "$dist"
version = "0.1.0"
description = "A kinject $kind plugin: $name"
readme = "README.md"
requires-python = ">=3.10"
dependencies = ["kinject>=0.1,<0.2"]

[project.optional-dependencies]
test = ["pytest>=8"]

[project.entry-points.kinject]
$name = "$module"

[tool.setuptools]
py-modules = ["$module"]
"""

README = """# $dist

A [kinject](https://github.com/kinject/kinject) $kind plugin that registers `$name`.

    pip install -e '.[test]'
    inject plugins --kind $kind      # lists $name, from $dist
    pytest

Recovering from a broken plugin: `KINJECT_DISABLE_PLUGINS=$name inject ...`.
"""

HEADER = '''"""$dist: the kinject $kind `$name`."""

from __future__ import annotations

'''

HOOK = """

@hookimpl
def $hook(register: Register) -> None:
    register($cls)
"""

MODULES = {
    "source": '''from collections.abc import Iterator
from pathlib import Path

from kinject import hookimpl
from kinject.components import Source
from kinject.errors import InputError
from kinject.hookspecs import Register
from kinject.records import Record


class $cls(Source):
    """Reads ``.$name`` text files: one document Record per blank-line separated paragraph."""

    name = "$name"
    description = "paragraphs of .$name files"
    extensions = (".$name",)

    def read(self, uri: str) -> Iterator[Record]:
        path = Path(uri)
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as exc:
            raise InputError("bad_encoding", f"not UTF-8 text: {exc}", uri=uri) from exc
        except OSError as exc:
            raise InputError("unreadable", str(exc), uri=uri) from exc
        paragraphs = [p.strip() for p in text.split("\\n\\n") if p.strip()]
        if not paragraphs:
            raise InputError("empty_document", "the file holds only whitespace", uri=uri)
        for number, paragraph in enumerate(paragraphs):
            yield Record(text=paragraph, source={"uri": uri, "paragraph": number}, lineage=[self.name])
''',
    "cleaner": '''from pydantic import BaseModel, ConfigDict

from kinject import hookimpl
from kinject.components import RecordCleaner
from kinject.hookspecs import Register
from kinject.records import Record, Rejected


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    min_words: int = 3


class $cls(RecordCleaner):
    """Collapses runs of whitespace and drops Records with fewer than ``min_words`` words."""

    name = "$name"
    description = "whitespace collapse + minimum word count"
    Options = Options
    opts: Options

    def clean(self, record: Record) -> Record | Rejected:
        text = " ".join(record.text.split())
        if len(text.split()) < self.opts.min_words:
            return Rejected(record, "too_few_words", plugin=self.name, detail=f"{len(text.split())} words")
        return record if text == record.text else record.with_text(text, self.name)
''',
    "augmenter": '''import re
from collections.abc import Iterator, Sequence

from kinject import hookimpl
from kinject.components import Augmenter
from kinject.hookspecs import Register
from kinject.records import Record

DEFINITION = re.compile(r"^(?P<term>[A-Z][\\w -]{1,40}?) (?:is|means) (?P<meaning>[^.]{3,200})\\.")


class $cls(Augmenter):
    """Turns definitional sentences ("X is Y.") into question-answer Records."""

    name = "$name"
    description = "QA pairs from 'X is Y.' sentences"

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        for record in records:
            if record.kind != "document":
                continue
            for sentence in re.split(r"(?<=\\.)\\s+", record.text):
                match = DEFINITION.match(sentence.strip())
                if match:
                    question = f"What is {match['term']}?"
                    answer = match["meaning"].strip()
                    yield record.derive(
                        f"{question} {answer}", self.name, kind="qa", meta={"question": question, "answer": answer}
                    )
''',
    "trainer": '''from pydantic import BaseModel, ConfigDict

from kinject import hookimpl
from kinject.components import Trainer, TrainJob, TrainResult
from kinject.hookspecs import Register


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    steps: int = 10
    learning_rate: float = 1e-4


class $cls(Trainer):
    """Full fine-tuning with plain AdamW on the text of every training Record."""

    name = "$name"
    description = "plain AdamW full fine-tuning"
    Options = Options
    opts: Options

    def train(self, job: TrainJob) -> TrainResult:
        import torch

        from kinject.models import load_causal_lm

        torch.manual_seed(self.seed)
        model, tokenizer = load_causal_lm(job.base_model)
        model.train()
        optimizer = torch.optim.AdamW(model.parameters(), lr=self.opts.learning_rate)
        texts = [r.text for r in job.train if r.text.strip()]
        losses = []
        for step in range(self.opts.steps):
            batch = tokenizer(texts[step % len(texts)], return_tensors="pt", truncation=True, max_length=256)
            loss = model(**batch, labels=batch["input_ids"]).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        job.output_dir.mkdir(parents=True, exist_ok=True)
        model.save_pretrained(job.output_dir, safe_serialization=True)
        tokenizer.save_pretrained(job.output_dir)
        metrics = {"first_loss": losses[0], "last_loss": losses[-1], "steps": self.opts.steps}
        return TrainResult(model_dir=job.output_dir, base_model=job.base_model, adapter=False, metrics=metrics)
''',
    "evaluator": '''from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from kinject import hookimpl
from kinject.components import Evaluator
from kinject.context import RunContext
from kinject.evaluation import EvalItem, EvalModel
from kinject.hookspecs import Register


class Options(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_new_tokens: int = 24


class $cls(Evaluator):
    """Share of questions whose greedy answer contains the reference answer (case-insensitive)."""

    name = "$name"
    description = "reference answer contained in the generated answer"
    Options = Options
    opts: Options

    def evaluate(self, model: EvalModel, items: Sequence[EvalItem], context: RunContext) -> dict[str, Any]:
        import torch

        hits = 0
        for item in items:
            inputs = model.tokenizer(model.prompt(item.question), return_tensors="pt")
            with torch.no_grad():
                out = model.model.generate(
                    **inputs, max_new_tokens=self.opts.max_new_tokens, do_sample=False,
                    pad_token_id=model.tokenizer.pad_token_id,
                )
            answer = model.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
            hits += item.reference.lower() in answer.lower()
        return {"contains": hits / len(items) if items else 0.0, "n": len(items)}
''',
    "exporter": '''import hashlib
import json
import shutil
from pathlib import Path

from kinject import hookimpl
from kinject.components import Exporter, TrainResult
from kinject.context import RunContext
from kinject.errors import KinjectError
from kinject.hookspecs import Register


class $cls(Exporter):
    """Copies the trained model directory and writes a SHA-256 manifest, checked after copying."""

    name = "$name"
    description = "model files + SHA-256 manifest"

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        copied = [Path(shutil.copy2(p, out_dir / p.name)) for p in sorted(result.model_dir.iterdir()) if p.is_file()]
        manifest = {p.name: _sha256(result.model_dir / p.name) for p in copied}
        path = out_dir / "SHA256SUMS.json"
        path.write_text(json.dumps(manifest, indent=2) + "\\n", encoding="utf-8")
        for name, digest in manifest.items():
            if _sha256(out_dir / name) != digest:
                raise KinjectError(f"export '{self.name}': {name} changed while copying")
        return [*copied, path]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
''',
}
