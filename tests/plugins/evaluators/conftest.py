"""Fixtures for evaluator tests: the tiny random model as an EvalModel, a small eval set."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, EvalModel


@pytest.fixture(scope="session")
def tiny_eval_model(tiny_model: Path) -> EvalModel:
    """The tiny random causal LM, loaded once per session, in eval mode."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    model.eval()
    return EvalModel(model=model, tokenizer=AutoTokenizer.from_pretrained(tiny_model), label="tiny")


@pytest.fixture
def qa_items() -> list[EvalItem]:
    """Four multiple-choice items in two categories, with reference answers."""
    return [
        EvalItem(
            "a1",
            "What is the appeal deadline?",
            ["7 days", "14 days", "21 days", "30 days"],
            2,
            "21 days",
            "court",
        ),
        EvalItem(
            "a2",
            "Who hears appeals?",
            ["the harbor court", "a jury", "the mayor", "nobody"],
            0,
            "",
            "court",
        ),
        EvalItem(
            "b1",
            "What notice must a tenant give?",
            ["none", "45 days", "one year", "a letter"],
            1,
            "45 days",
            "lease",
        ),
        EvalItem(
            "b2",
            "Is a deposit refundable?",
            ["yes", "no", "sometimes", "never"],
            0,
            "yes, within 30 days",
            "lease",
        ),
    ]


def _hand_logprob(em: EvalModel, context: str, continuation: str) -> float:
    """Sum of log p(continuation token | prefix) from one unpadded forward pass."""
    import torch

    from kinject_plugins.evaluators.loglik import encode_pair

    ctx, cont = encode_pair(em.tokenizer, context, continuation)
    with torch.no_grad():
        logits = em.model(input_ids=torch.tensor([ctx + cont])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return sum(float(logprobs[len(ctx) - 1 + k, tok]) for k, tok in enumerate(cont))


@pytest.fixture
def hand_logprob() -> Callable[[EvalModel, str, str], float]:
    """An independent, unbatched log-likelihood to check the evaluators against."""
    return _hand_logprob


@pytest.fixture
def fixed_answers(monkeypatch: pytest.MonkeyPatch) -> Callable[[str, dict[str, str]], None]:
    """Make one evaluator module's greedy answers come from a question -> answer table."""

    def install(module: str, table: dict[str, str]) -> None:
        def answers(
            model: EvalModel, items: list[EvalItem], *args: object, **kwargs: object
        ) -> list[str]:
            return [table[item.question] for item in items]

        monkeypatch.setattr(f"kinject_plugins.evaluators.{module}.generate_answers", answers)

    return install


@pytest.fixture
def legal_pack(tmp_path: Path) -> DomainPack:
    """A domain pack with a two-criterion rubric and a small term list."""
    (tmp_path / "terms.yaml").write_text(
        "terms:\n"
        "  - {term: earnest money, synonyms: [deposit], confusables: [advance payment]}\n"
        "  - {term: advance payment}\n"
        "  - {term: statute of limitations}\n",
        encoding="utf-8",
    )
    (tmp_path / "rubric.yaml").write_text(
        "name: legal\n"
        "criteria:\n"
        "  - {id: terms, check: required_terms, weight: 2}\n"
        "  - {id: no_confusion, check: confusions}\n",
        encoding="utf-8",
    )
    return DomainPack(
        name="legal",
        version="0",
        description="",
        corpus=tmp_path,
        eval=tmp_path / "eval.jsonl",
        terms=tmp_path / "terms.yaml",
        rubric=tmp_path / "rubric.yaml",
    )
