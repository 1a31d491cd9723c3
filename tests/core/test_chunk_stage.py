"""The chunk stage's budget, and the pass after augmentation that keeps every record within it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from kinject.chunk_stage import TokenBudget, fit_records, trainer_max_length
from kinject.config import RunConfig
from kinject.models import load_causal_lm
from kinject.plugins import Plugins
from kinject.records import Record, Rejected


@pytest.fixture
def budget(tiny_model: Path) -> TokenBudget:
    _, tokenizer = load_causal_lm(tiny_model)
    return TokenBudget(tokenizer, 48)


def test_the_budget_follows_the_trainer(kinject_plugins: Plugins) -> None:
    assert trainer_max_length(RunConfig(trainer={"max_length": 128}), kinject_plugins) == 128
    assert (
        trainer_max_length(
            RunConfig(strategy="rlhf", trainer={"sft": {"max_length": 96}}), kinject_plugins
        )
        == 96
    )
    assert trainer_max_length(RunConfig(), kinject_plugins) == 512  # sft's own default
    assert (
        trainer_max_length(
            RunConfig(chunk={"max_tokens": 64}, trainer={"max_length": 128}), kinject_plugins
        )
        == 64
    )


def test_long_qa_is_rejected_and_long_text_cut_again(budget: TokenBudget) -> None:
    long_qa = Record(
        text="x", kind="qa", meta={"question": "Which " * 60 + "one?", "answer": "this"}
    )
    short_qa = Record(text="x", kind="qa", meta={"question": "Which one?", "answer": "this"})
    long_text = Record(text=" ".join(f"Sentence {i} says little." for i in range(40)))
    counts: Counter[str] = Counter()
    out = list(fit_records([long_qa, short_qa, long_text], RunConfig(), budget, counts))
    rejected = [o for o in out if isinstance(o, Rejected)]
    assert [r.record.id for r in rejected] == [long_qa.id] and rejected[0].reason == "qa_too_long"
    kept = [o for o in out if isinstance(o, Record)]
    assert short_qa in kept and counts["recut"] == 1
    passages = [r for r in kept if r.kind == "document"]
    assert len(passages) > 1
    assert all(budget.count(r.text) + budget.specials <= budget.max_length for r in passages)
