"""Preference pairs (records, rubric, files) and the reward model on a tiny random model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.domains import Term
from kinject.errors import ConfigError, InputError
from kinject.evaluation import format_prompt
from kinject.records import Record
from kinject.rubric import Rubric
from kinject_plugins.trainers.ppo.preferences import (
    PreferencePair,
    pairs_from_records,
    pairs_from_rubric,
    policy_prompts,
    read_pairs_file,
    split_by_prompt,
    unique,
)
from kinject_plugins.trainers.ppo.reward_model import (
    RewardModelConfig,
    load_reward_model,
    train_reward_model,
)

TERMS = [
    Term("earnest money", confusables=["advance payment"]),
    Term("advance payment", confusables=["earnest money"]),
]
RUBRIC = Rubric.from_dict(
    {
        "criteria": [
            {"id": "terms", "check": "required_terms", "weight": 1},
            {"id": "no_confusions", "check": "confusions", "weight": 2},
            {"id": "numbers", "check": "numeric_match", "weight": 2},
            {"id": "cite", "check": "pattern", "params": {"regex": r"Article \d+"}, "weight": 1},
        ]
    },
    TERMS,
)


def qa(question: str, answer: str) -> Record:
    return Record(
        text=f"{question} {answer}", kind="qa", meta={"question": question, "answer": answer}
    )


def test_pairs_from_negatives_records() -> None:
    pref = Record(
        text="x",
        kind="preference",
        meta={"prompt": format_prompt("How long?"), "chosen": "30 days", "rejected": "60 days"},
    )
    pairs = list(pairs_from_records([pref, qa("q", "a"), Record(text="doc")]))
    assert pairs == [
        PreferencePair(format_prompt("How long?"), " 30 days", " 60 days", "negatives")
    ]


def test_rubric_pairs_break_a_rule_the_rubric_checks() -> None:
    records = [
        qa(
            "What secures the contract under Article 12?",
            "Earnest money of 200 velors, under Article 12.",
        )
    ]
    pairs = list(pairs_from_rubric(records, RUBRIC, seed=0))
    origins = {p.origin for p in pairs}
    assert origins == {"rubric:confusion", "rubric:number", "rubric:citation"}
    for pair in pairs:
        assert pair.chosen == " Earnest money of 200 velors, under Article 12."
        reference = pair.chosen.strip()
        assert (
            RUBRIC.score(pair.question, pair.rejected, reference).total
            < RUBRIC.score(pair.question, pair.chosen, reference).total
        )
    confusion = next(p for p in pairs if p.origin == "rubric:confusion")
    assert "advance payment" in confusion.rejected


def test_rubric_pairs_skip_answers_with_nothing_to_break() -> None:
    assert list(pairs_from_rubric([qa("Who decides?", "The court decides.")], RUBRIC, seed=0)) == []


def test_pairs_file(tmp_path: Path) -> None:
    path = tmp_path / "prefs.jsonl"
    path.write_text(
        json.dumps({"question": "Q?", "chosen": "good", "rejected": "bad"})
        + "\n\n"
        + json.dumps({"prompt": "P:", "chosen": "a", "rejected": "b"})
        + "\n"
    )
    pairs = read_pairs_file(path)
    assert [(p.prompt, p.chosen, p.rejected) for p in pairs] == [
        (format_prompt("Q?"), " good", " bad"),
        ("P:", " a", " b"),
    ]


def test_bad_pairs_file_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "prefs.jsonl"
    path.write_text(
        json.dumps({"prompt": "P", "chosen": "a", "rejected": "b"})
        + "\n"
        + json.dumps({"prompt": "P"})
        + "\n"
    )
    with pytest.raises(InputError, match="line 2: missing chosen, rejected") as info:
        read_pairs_file(path)
    assert str(path) in str(info.value)
    path.write_text("{not json\n")
    with pytest.raises(InputError, match="line 1: not JSON"):
        read_pairs_file(path)
    with pytest.raises(ConfigError, match="does not exist"):
        read_pairs_file(tmp_path / "missing.jsonl")


def test_split_keeps_each_prompt_on_one_side_and_dedupes() -> None:
    pairs = [PreferencePair(f"p{i % 5}", f" c{i}", f" r{i}") for i in range(20)]
    train, held = split_by_prompt(unique(pairs + pairs[:3]), 0.2, seed=1)
    assert len(train) + len(held) == 20
    assert {p.prompt for p in train}.isdisjoint({p.prompt for p in held})
    assert len({p.prompt for p in held}) == 1


def test_policy_prompts_from_qa_then_preferences() -> None:
    prompts = policy_prompts(
        [qa("A?", "a"), qa("A?", "again")], [PreferencePair(format_prompt("B?"), " b", " x")]
    )
    assert [(p.question, p.reference) for p in prompts] == [("A?", "a"), ("B?", "b")]


def separable_pairs(n: int) -> list[PreferencePair]:
    topics = [
        "contract",
        "court",
        "tenant",
        "deposit",
        "appeal",
        "statute",
        "judge",
        "lease",
        "notice",
        "claim",
    ]
    return [
        PreferencePair(
            format_prompt(f"What about the {topics[i % 10]} {i}?"),
            " yes yes yes yes",
            " no no no no",
            "file",
        )
        for i in range(n)
    ]


def test_reward_model_beats_chance_on_a_separable_set(tiny_model: Path, tmp_path: Path) -> None:
    pairs = separable_pairs(40)
    train, held = pairs[:32], pairs[32:]
    config = RewardModelConfig(
        base=tiny_model, learning_rate=5e-3, epochs=3, batch_size=8, lora_r=8, seed=0
    )
    scorer, metrics = train_reward_model(train, held, config, tmp_path / "rm")
    assert metrics["rm_accuracy"] == 1.0
    assert metrics["rm_held_out_pairs"] == 8
    reloaded = load_reward_model(tmp_path / "rm", tiny_model)
    assert reloaded is not None
    again, saved = reloaded
    assert saved["rm_accuracy"] == 1.0
    assert again.score([held[0].prompt], [held[0].chosen]) == pytest.approx(
        scorer.score([held[0].prompt], [held[0].chosen]), abs=1e-5
    )


def test_reward_model_needs_pairs(tiny_model: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no preference pairs"):
        train_reward_model([], [], RewardModelConfig(base=tiny_model), tmp_path / "rm")
