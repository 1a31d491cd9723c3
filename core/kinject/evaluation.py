"""Evaluation items and the model handle evaluators receive."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.errors import InputError

if TYPE_CHECKING:
    from kinject.components import TrainResult


def format_prompt(question: str, context: str = "") -> str:
    """The prompt used both to train QA records and to ask eval questions."""
    return f"{context}Question: {question}\nAnswer:"


@dataclass
class EvalItem:
    """One held-out question. ``choices`` + ``answer`` (index) for multiple choice;
    ``answer_text`` is the reference answer for generation metrics."""

    id: str
    question: str
    choices: list[str] = field(default_factory=list)
    answer: int | None = None
    answer_text: str = ""
    category: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def reference(self) -> str:
        if self.answer_text:
            return self.answer_text
        if self.choices and self.answer is not None:
            return self.choices[self.answer]
        return ""


def load_eval_items(path: Path) -> list[EvalItem]:
    """Read a JSONL eval set; a malformed line is an :class:`InputError` naming file and line."""
    items: list[EvalItem] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                item = EvalItem(**data)
            except (json.JSONDecodeError, TypeError) as exc:
                raise InputError("bad_eval_item", f"line {lineno}: {exc}", uri=str(path)) from exc
            if item.choices and (item.answer is None or not 0 <= item.answer < len(item.choices)):
                raise InputError(
                    "bad_eval_item", f"line {lineno}: answer index out of range", str(path)
                )
            items.append(item)
    return items


@dataclass
class EvalModel:
    """A loaded causal LM plus how to prompt it.

    ``retrieve`` (set by the ``rag`` strategy) returns passages to put before a question.
    """

    model: Any
    tokenizer: Any
    label: str
    retrieve: Callable[[str], list[str]] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def prompt(self, question: str) -> str:
        """The closed-book (or retrieval-augmented) prompt for a question."""
        context = ""
        if self.retrieve is not None:
            passages = self.retrieve(question)
            if passages:
                context = "Context:\n" + "\n".join(f"- {p}" for p in passages) + "\n\n"
        return format_prompt(question, context)


def load_eval_model(result: TrainResult, label: str) -> EvalModel:
    """Load base + adapter (or a full model directory) for evaluation, in eval mode.

    The adapter is merged into the weights: one plain model, as the ``hf`` export ships it, with
    no adapter layers to run beside every linear layer (legal demo, 245 questions: the same pick
    and answer on every question, log-probabilities within 1e-4, the trained evaluation 28.4 s ->
    24.6 s; docs/evaluators.md).
    """
    from kinject.trained import load_trained

    model, tokenizer = load_trained(result, merge=True)
    return EvalModel(model=model, tokenizer=tokenizer, label=label)
