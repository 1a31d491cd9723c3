"""The chunk stage of a run: the token budget of the trainer, and records cut to fit it.

The budget is the trainer's ``max_length`` in tokens of the base model's tokenizer, less the
special tokens a training row adds (a BOS where the tokenizer has one, the EOS). The same
passages go to every strategy; ``rag`` indexes them as they are. After augmentation the split
stage calls :func:`fit_records` once more: a rewrite longer than the budget is cut the same way,
and a QA pair longer than it is quarantined (``qa_too_long``), never cut mid-answer.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kinject.chunking import TEXT_KINDS, Chunker, chunk_records, passage_text
from kinject.config import RunConfig
from kinject.evaluation import format_prompt
from kinject.records import Record, Rejected

DEFAULT_MAX_LENGTH = 512


def trainer_max_length(config: RunConfig, plugins: Any) -> int:
    """``chunk.max_tokens``, else the trainer's ``max_length`` (set, or its default), else 512."""
    if config.chunk.max_tokens:
        return config.chunk.max_tokens
    options = config.trainer
    for value in (options.get("max_length"), (options.get("sft") or {}).get("max_length")):
        if isinstance(value, int):
            return value
    factory = plugins.registry("trainer").get(config.strategy).obj
    field = getattr(getattr(factory, "Options", None), "model_fields", {}).get("max_length")
    default = getattr(field, "default", None)
    return default if isinstance(default, int) else DEFAULT_MAX_LENGTH


@dataclass
class TokenBudget:
    """Counts tokens the way the trainers build rows (``training_rows.tokenize_row``)."""

    tokenizer: Any
    max_length: int

    def count(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    @property
    def specials(self) -> int:
        """Tokens a row adds around its text: the tokenizer's own prefix plus the EOS."""
        return len(self.tokenizer("", add_special_tokens=True)["input_ids"]) + 1

    @property
    def passage_tokens(self) -> int:
        return self.max_length - self.specials

    def qa_tokens(self, question: str, answer: str) -> int:
        prompt = len(self.tokenizer(format_prompt(question), add_special_tokens=True)["input_ids"])
        return prompt + self.count(" " + answer) + 1


def make_budget(config: RunConfig, plugins: Any) -> TokenBudget:
    from kinject.models import load_tokenizer

    return TokenBudget(load_tokenizer(config.base_model), trainer_max_length(config, plugins))


def make_chunker(config: RunConfig, budget: TokenBudget) -> Chunker:
    return Chunker(
        budget.count, budget.passage_tokens, overlap=config.chunk.overlap, title=config.chunk.title
    )


def chunk_stage(
    records: list[Record], config: RunConfig, budget: TokenBudget
) -> tuple[list[Record], dict[str, Any]]:
    """Cut every text record to the budget; stats give passage counts and token sizes."""
    chunker = make_chunker(config, budget)
    out = list(chunk_records(records, chunker))
    sizes = [budget.count(passage_text(r)) + budget.specials for r in out if r.kind in TEXT_KINDS]
    stats: dict[str, Any] = {
        "input": len(records),
        "max_tokens": budget.max_length,
        **chunker.stats,
    }
    if sizes:
        stats["tokens"] = {
            "min": min(sizes),
            "median": statistics.median(sizes),
            "max": max(sizes),
            "total": sum(sizes),
        }
    return out, stats


def fit_records(
    records: Iterable[Record], config: RunConfig, budget: TokenBudget, counts: Counter[str]
) -> Iterable[Record | Rejected]:
    """Records as the trainer will see them: long texts cut again, long QA pairs rejected."""
    chunker = make_chunker(config, budget)
    for record in records:
        if record.kind in TEXT_KINDS:
            if budget.count(passage_text(record)) + budget.specials > budget.max_length:
                counts["recut"] += 1
                yield from chunk_records([record], chunker)
            else:
                yield record
        elif record.kind == "qa" and _qa_too_long(record, budget):
            detail = (
                f"question and answer need more than {budget.max_length} tokens (the "
                "trainer's max_length)"
            )
            yield Rejected(record, "qa_too_long", "chunk", detail)
        else:
            yield record


def _qa_too_long(record: Record, budget: TokenBudget) -> bool:
    question, answer = str(record.meta.get("question", "")), str(record.meta.get("answer", ""))
    return bool(question and answer) and budget.qa_tokens(question, answer) > budget.max_length
