from pathlib import Path
from typing import Any

import pytest
import yaml

from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.errors import InputError
from kinject.records import Record

TERMS = {
    "terms": [
        {
            "term": "定金",
            "definition": "具有担保性质的预付款，违约方不得要回或须双倍返还。",
            "synonyms": ["保证定金"],
            "confusables": ["订金"],
            "language": "zh",
        },
        {
            "term": "订金",
            "definition": "预付款，不具有担保性质，可以退还。",
            "confusables": ["定金"],
            "language": "zh",
        },
        {
            "term": "earnest money",
            "definition": "A deposit that secures a contract.",
            "synonyms": ["good-faith deposit"],
            "confusables": ["down payment"],
            "language": "en",
        },
    ]
}


@pytest.fixture
def with_terms(run_context: RunContext, tmp_path: Path) -> RunContext:
    path = tmp_path / "terms.yaml"
    path.write_text(yaml.safe_dump(TERMS, allow_unicode=True), encoding="utf-8")
    run_context.domain = DomainPack("t", "0", "", tmp_path, tmp_path / "eval.jsonl", terms=path)
    return run_context


def run(context: RunContext, **options: Any) -> tuple[Any, list[Record]]:
    augmenter = context.plugins.create("augmenter", "term-qa", options)
    augmenter.setup(context)
    return augmenter, list(augmenter.augment([]))


def test_definitions_synonyms_and_contrasts_in_each_language(with_terms: RunContext) -> None:
    augmenter, out = run(with_terms)
    pairs = {r.meta["question"]: r.meta["answer"] for r in out}
    assert pairs["什么是定金？"] == TERMS["terms"][0]["definition"]
    assert pairs["定金的同义词是什么？"] == "保证定金"
    assert pairs["保证定金是什么意思？"] == TERMS["terms"][0]["definition"]
    contrast = pairs["定金和订金有什么区别？"]
    assert "担保" in contrast and "可以退还" in contrast
    assert pairs["What is another term for 'earnest money'?"] == "good-faith deposit"
    assert pairs["What does the term 'earnest money' mean?"] == "A deposit that secures a contract."
    assert "not the same as 'down payment'" in pairs["Is earnest money the same as down payment?"]
    assert all(r.kind == "qa" and r.meta["language"] in ("zh", "en") for r in out)
    assert augmenter.stats["facts_total"] == 3 and augmenter.stats["facts_under_k"] == 0


def test_no_domain_no_terms(run_context: RunContext) -> None:
    augmenter, out = run(run_context)
    assert out == [] and augmenter.stats["terms"] == 0


def test_bad_terms_file_names_the_file(run_context: RunContext, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("terms: [unclosed", encoding="utf-8")
    augmenter = run_context.plugins.create("augmenter", "term-qa", {"terms_file": str(bad)})
    with pytest.raises(InputError, match="bad.yaml"):
        augmenter.setup(run_context)


def test_limit_keeps_terms_the_corpus_uses_first(with_terms: RunContext) -> None:
    _, out = run(with_terms, limit=2)
    assert len(out) == 2
    corpus = [Record(text="The buyer paid earnest money of 500 velors.")]
    augmenter = with_terms.plugins.create("augmenter", "term-qa", {"limit": 1})
    augmenter.setup(with_terms)
    [first] = list(augmenter.augment(corpus))
    assert first.meta["term"] == "earnest money"
