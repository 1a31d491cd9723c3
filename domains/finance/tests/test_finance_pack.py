"""The finance pack as installed: discovery, files, eval set quality, term list, rubric, recipe."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from kinject.config import build_config
from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, load_eval_items
from kinject.plugins import build_plugins, require_domain
from kinject_finance.currency import CurrencyNormalizer


@pytest.fixture(scope="module")
def pack() -> DomainPack:
    return require_domain(build_plugins(), "finance")


@pytest.fixture(scope="module")
def raw_corpus(pack: DomainPack) -> str:
    texts = [p.read_text(encoding="utf-8") for p in sorted(pack.corpus.glob("*.md"))]
    return "\n".join(texts)


@pytest.fixture(scope="module")
def cleaned_corpus(raw_corpus: str) -> str:
    """The corpus as training sees it: after the pack's currency-normalize cleaner."""
    return re.sub(r"\s+", " ", CurrencyNormalizer().normalize(raw_corpus)[0])


@pytest.fixture(scope="module")
def items(pack: DomainPack) -> list[EvalItem]:
    return load_eval_items(pack.eval)


def _words(text: str) -> list[str]:
    # Chinese has no spaces: treat each Han character as a word
    return re.findall(r"[\u4e00-\u9fff]|[\w.%/$€£-]+", text.lower())


def test_discovered_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    # only this pack's components: the builtin ones are tested with the core
    monkeypatch.setenv(
        "KINJECT_DISABLE_PLUGINS", "kinject_plugins.cleaners,kinject_plugins.augmenters"
    )
    plugins = build_plugins()
    entry = plugins.domains().get("finance")
    assert entry.distribution == "kinject-finance" and entry.obj.version == "0.1.0"
    assert "currency-normalize" in plugins.registry("cleaner").names()
    assert "table-qa" in plugins.registry("augmenter").names()


def test_pack_paths_exist(pack: DomainPack) -> None:
    for path in (pack.corpus, pack.eval, pack.terms, pack.rubric, pack.recipe):
        assert path is not None and path.exists(), path
    assert 4 <= len(list(pack.corpus.glob("*.md"))) <= 8


def test_corpus_size_and_fictional_label(pack: DomainPack) -> None:
    words = 0
    for path in pack.corpus.glob("*.md"):
        text = path.read_text(encoding="utf-8")
        assert "FICTIONAL" in text or "虚构" in text, f"{path.name} must say it is fictional"
        words += len(_words(text))
    assert 2500 <= words <= 6000


def test_eval_items_are_well_formed(items: list[EvalItem]) -> None:
    assert 50 <= len(items) <= 80
    assert len({i.id for i in items}) == len(items)
    for item in items:
        assert len(item.choices) == 4 and len(set(item.choices)) == 4, item.id
        assert item.answer is not None and item.choices[item.answer] == item.answer_text, item.id
        assert item.category and item.meta.get("fact_id"), item.id
    assert len({i.meta["fact_id"] for i in items}) == len(items)


def test_answer_positions_are_balanced(items: list[EvalItem]) -> None:
    counts = Counter(i.answer for i in items)
    assert set(counts) == {0, 1, 2, 3}
    assert max(counts.values()) - min(counts.values()) <= 2


def test_every_answer_appears_in_the_cleaned_corpus(
    items: list[EvalItem], cleaned_corpus: str
) -> None:
    missing = [(i.id, i.answer_text) for i in items if i.answer_text not in cleaned_corpus]
    assert not missing


def test_questions_are_not_copied_from_the_corpus(items: list[EvalItem], raw_corpus: str) -> None:
    words = _words(raw_corpus)
    grams = {tuple(words[k : k + 13]) for k in range(len(words) - 12)}
    flat = re.sub(r"\s+", " ", raw_corpus)
    for item in items:
        assert item.question not in flat, item.id
        q = _words(item.question)
        shared = [tuple(q[k : k + 13]) for k in range(len(q) - 12) if tuple(q[k : k + 13]) in grams]
        assert not shared, f"{item.id} shares a 13-gram with the corpus: {shared[0]}"


def test_term_list_has_required_fields(pack: DomainPack) -> None:
    terms = pack.load_terms()
    assert len(terms) >= 150
    assert len({t.term for t in terms}) == len(terms)
    for term in terms:
        assert term.term and term.definition, term.term
        assert term.language in ("en", "zh"), term.term
    assert Counter(t.language for t in terms)["zh"] >= 30
    names = {t.term: t for t in terms}
    assert "净利润" in names["营业收入"].confusables
    assert "net margin" in names["gross margin"].confusables
    assert "net income" in names["revenue"].confusables


def test_rubric_has_the_finance_checks(pack: DomainPack) -> None:
    rubric = pack.load_rubric()
    by_check = {c["check"]: c for c in rubric["criteria"]}
    assert {"numeric_match", "units", "confusions", "required_terms"} <= set(by_check)
    assert by_check["numeric_match"]["params"]["tolerance"] > 0
    for criterion in rubric["criteria"]:
        re.compile(criterion.get("applies_to", ""))
        if "regex" in criterion["params"]:
            re.compile(criterion["params"]["regex"])


def test_rubric_loads_with_the_scorer(pack: DomainPack) -> None:
    from kinject.rubric import Rubric

    rubric = Rubric.load(pack.rubric, pack.load_terms())
    item = load_eval_items(pack.eval)[0]
    right = rubric.score(item.question, item.reference, item.reference)
    assert 0.0 <= right.total <= 1.0
    assert right.total >= rubric.score(item.question, "I do not know.", item.reference).total


def test_recipe_is_a_valid_run_config(pack: DomainPack) -> None:
    config = build_config(pack.load_recipe(), source=str(pack.recipe))
    assert [s.name for s in config.cleaners] == ["normalize", "currency-normalize", "exact-dedup"]
    assert [s.name for s in config.augmenters] == [
        "paraphrase",
        "qa-generate",
        "term-qa",
        "table-qa",
    ]
    assert config.strategy == "sft" and config.trainer["epochs"] == 3
    assert [s.name for s in config.evaluators] == ["knowledge-qa", "rubric"]


def test_table_qa_covers_the_corpus_tables(pack: DomainPack) -> None:
    from kinject.records import Record
    from kinject_finance.table_qa import TableQAGenerator

    records = [Record(text=p.read_text(encoding="utf-8")) for p in sorted(pack.corpus.glob("*.md"))]
    qas = list(TableQAGenerator().augment(records))
    answers = {(q.meta["table_qa"]["row"], q.meta["answer"]) for q in qas}
    assert ("Revenue", "2,840.6") in answers
    assert ("Revenue", "17.3%") in answers  # matches the growth the report states in words
    assert ("Net profit", "11.9%") in answers


def test_every_strategy_has_a_budget_its_trainer_accepts() -> None:
    from kinject.testing import check_recipe_strategies

    budgets = check_recipe_strategies("finance")
    assert set(budgets) == {"sft", "ewc", "distill", "rlhf", "dpo"}
    assert budgets["ewc"]["epochs"] == budgets["sft"]["epochs"] == 3
    assert "epochs" not in budgets["rlhf"]  # the sft block stayed with sft
