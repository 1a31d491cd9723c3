"""Which questions a run is measured on: the pack's for its sample corpus, the user's file, or
questions built from the user's own corpus (held-out phrasings, written to eval_set.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.evaluation import load_eval_items
from kinject.pipeline import open_run, resolve_config, run_pipeline
from kinject.plugins import Plugins
from kinject.records import read_jsonl
from kinject_plugins.cleaners.tokens import tokenize


def run(plugins: Plugins, tmp_path: Path, tiny_model: Path, **extra: Any) -> RunContext:
    overrides = {
        "strategy": "copy",
        "base_model": str(tiny_model),
        "evaluators": ["count-params"],
        "exporters": [],
        "augmenters": ["qa-generate"],
        "cleaners": ["normalize"],
        "run_dir": str(tmp_path / "run"),
        "forgetting": False,
        **extra,
    }
    config, pack = resolve_config(plugins, "sample", None, overrides)
    context = open_run(config, plugins, pack, show_progress=False)
    run_pipeline(context)
    return context


def manifest(context: RunContext) -> dict[str, Any]:
    return json.loads((context.run_dir / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_the_user_corpus_gets_questions_built_from_it(
    stand_ins: DomainPack,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    user_corpus: Path,
) -> None:
    corpus = user_corpus
    context = run(kinject_plugins, tmp_path, tiny_model, corpus=[str(corpus)])
    origin = manifest(context)["eval_set"]
    assert origin["origin"] == "corpus" and origin["questions"] > 0 and not origin.get("warning")
    assert "built from your corpus" in origin["label"] and "2 documents" in origin["label"]
    items = load_eval_items(context.run_dir / "eval_set.jsonl")
    assert [i.id for i in items] == [i.id for i in context.eval_items]
    assert all(Path(str(i.meta["uri"])).parent == corpus and len(i.choices) == 4 for i in items)
    assert "built from your corpus" in (context.run_dir / "report.md").read_text(encoding="utf-8")


def test_no_training_question_shares_a_13_gram_with_a_built_question(
    stand_ins: DomainPack,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    user_corpus: Path,
) -> None:
    context = run(kinject_plugins, tmp_path, tiny_model, corpus=[str(user_corpus)])
    grams = {g for item in context.eval_items for g in ngrams(item.question)}
    train = list(read_jsonl(context.run_dir / "data" / "train.jsonl"))
    questions = [str(r.meta["question"]) for r in train if r.kind == "qa"]
    assert questions, "the corpus should still give training QA"
    assert not [q for q in questions if grams & ngrams(q)]
    # the passages the questions were built from are still trained on: only phrasing is held out
    passages = {r.id for r in train if r.kind == "document"}
    assert {str(i.meta.get("uri")) for i in context.eval_items} <= {
        str(r.source["uri"]) for r in train if r.id in passages
    }


def ngrams(text: str, n: int = 13) -> set[tuple[str, ...]]:
    tokens = tokenize(text)
    return {tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)}


def test_the_pack_sample_corpus_keeps_the_pack_questions(
    stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    context = run(kinject_plugins, tmp_path, tiny_model)
    origin = manifest(context)["eval_set"]
    assert origin["origin"] == "pack" and not origin.get("warning")
    assert len(load_eval_items(context.run_dir / "eval_set.jsonl")) == len(
        load_eval_items(stand_ins.eval)
    )


def test_pack_questions_on_a_user_corpus_come_with_a_warning(
    stand_ins: DomainPack,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    user_corpus: Path,
) -> None:
    context = run(
        kinject_plugins,
        tmp_path,
        tiny_model,
        corpus=[str(user_corpus)],
        eval_questions={"max_questions": 0},
    )
    origin = manifest(context)["eval_set"]
    assert origin["origin"] == "pack" and "not about your documents" in origin["warning"]
    assert "not about your documents" in (context.run_dir / "report.md").read_text(encoding="utf-8")


def test_a_users_eval_file_wins_and_is_written_back(
    stand_ins: DomainPack,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    user_corpus: Path,
) -> None:
    mine = tmp_path / "mine.jsonl"
    mine.write_text(
        json.dumps(
            {
                "id": "q1",
                "question": "Where was Northgate Mills founded?",
                "choices": ["Ostry", "Vell"],
                "answer": 0,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    context = run(
        kinject_plugins, tmp_path, tiny_model, corpus=[str(user_corpus)], eval_set=str(mine)
    )
    assert manifest(context)["eval_set"]["origin"] == "file"
    assert [i.id for i in load_eval_items(context.run_dir / "eval_set.jsonl")] == ["q1"]
