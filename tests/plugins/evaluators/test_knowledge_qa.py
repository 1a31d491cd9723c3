"""knowledge-qa: choices picked by log-likelihood, exact match, per-item results."""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from kinject.context import RunContext
from kinject.evaluation import EvalItem, EvalModel
from kinject_plugins.evaluators.knowledge_qa import (
    KnowledgeQAEvaluator,
    contains_match,
    exact_match,
)


class FavouriteTokens(torch.nn.Module):
    """A rigged 'language model' that gives a fixed set of tokens almost all probability."""

    def __init__(self, vocab_size: int, favourite: list[int]) -> None:
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        bias = torch.full((vocab_size,), -10.0)
        bias[favourite] = 5.0
        self.register_buffer("bias", bias)
        self.config = SimpleNamespace(max_position_embeddings=512)

    def forward(self, input_ids: torch.Tensor, attention_mask: Any = None) -> Any:
        logits = self.bias.expand(*input_ids.shape, -1) + self.anchor
        return SimpleNamespace(logits=logits)


def test_picks_the_choice_a_rigged_model_prefers(
    tiny_eval_model: EvalModel, run_context: RunContext
) -> None:
    tok = tiny_eval_model.tokenizer
    favourite = tok(" 45 days", add_special_tokens=False)["input_ids"]
    rigged = EvalModel(FavouriteTokens(len(tok), favourite), tok, "rigged")
    items = [
        EvalItem(
            "x",
            "How much notice?",
            ["10 years", "45 days", "none at all", "a letter"],
            1,
            category="lease",
        )
    ]
    result = KnowledgeQAEvaluator(generate=False).evaluate(rigged, items, run_context)
    assert result["accuracy"] == 1.0
    assert result["items"][0]["chosen"] == 1
    assert result["items"][0]["chosen_text"] == "45 days"
    items[0].answer = 2
    assert (
        KnowledgeQAEvaluator(generate=False).evaluate(rigged, items, run_context)["accuracy"] == 0.0
    )


def test_accuracy_matches_hand_computed_choices(
    tiny_eval_model: EvalModel,
    qa_items: list[EvalItem],
    run_context: RunContext,
    hand_logprob: Callable[[EvalModel, str, str], float],
) -> None:
    result = KnowledgeQAEvaluator(generate=False, batch_size=3).evaluate(
        tiny_eval_model, qa_items, run_context
    )
    chosen, chosen_norm = [], []
    for item in qa_items:
        prompt = tiny_eval_model.prompt(item.question)
        lps = [hand_logprob(tiny_eval_model, prompt, " " + c) for c in item.choices]
        normed = [lp / (len(c) + 1) for lp, c in zip(lps, item.choices, strict=True)]
        chosen.append(lps.index(max(lps)))
        chosen_norm.append(normed.index(max(normed)))
    assert [r["chosen"] for r in result["items"]] == chosen
    assert [r["chosen_norm"] for r in result["items"]] == chosen_norm
    hits = [c == item.answer for c, item in zip(chosen, qa_items, strict=True)]
    assert result["accuracy"] == result["accuracy_sum"] == pytest.approx(sum(hits) / 4)
    norm_hits = [c == item.answer for c, item in zip(chosen_norm, qa_items, strict=True)]
    assert result["accuracy_norm"] == pytest.approx(sum(norm_hits) / 4)
    court = sum(hits[:2]) / 2
    assert result["per_category"]["court"] == {"accuracy": court, "n": 2}
    assert result["n"] == 4
    assert "em" not in result


def test_headline_norm_and_determinism(
    tiny_eval_model: EvalModel, qa_items: list[EvalItem], run_context: RunContext
) -> None:
    first = KnowledgeQAEvaluator(generate=False, headline="norm").evaluate(
        tiny_eval_model, qa_items, run_context
    )
    again = KnowledgeQAEvaluator(generate=False, headline="norm", batch_size=1).evaluate(
        tiny_eval_model, qa_items, run_context
    )
    assert first["accuracy"] == first["accuracy_norm"]
    assert [r["chosen"] for r in first["items"]] == [r["chosen"] for r in again["items"]]


def test_generation_metrics_on_small_sets(
    tiny_eval_model: EvalModel, qa_items: list[EvalItem], run_context: RunContext
) -> None:
    result = KnowledgeQAEvaluator(max_new_tokens=4).evaluate(tiny_eval_model, qa_items, run_context)
    assert result["n_generated"] == 4  # every item has a reference (answer_text or the choice)
    rows = result["items"]
    assert all(isinstance(r["generation"], str) and "\n" not in r["generation"] for r in rows)
    expected_em = sum(exact_match(r["generation"], r["reference"]) for r in rows) / 4
    assert result["em"] == expected_em
    assert 0.0 <= result["em"] <= result["contains"] <= 1.0
    off = KnowledgeQAEvaluator(generate_max_items=3).evaluate(
        tiny_eval_model, qa_items, run_context
    )
    assert "em" not in off


@pytest.mark.parametrize(
    ("answer", "reference", "em", "contains"),
    [
        ("Paris.", "paris", True, True),
        ("The answer is Paris", "Paris", False, True),
        ("the Nile", "Nile", True, True),
        ("Parisian food", "Paris", False, False),
        ("违约方丧失定金。", "定金", False, True),
        ("", "x", False, False),
    ],
)
def test_exact_and_contains_match(answer: str, reference: str, em: bool, contains: bool) -> None:
    assert exact_match(answer, reference) is em
    assert contains_match(answer, reference) is contains


def test_registered(kinject_plugins: Any) -> None:
    names = kinject_plugins.registry("evaluator").names()
    assert {"knowledge-qa", "retention"} <= set(names)
