"""Knowledge suites of real text: the TAT-QA and MedQuAD converters, and ``run.py --suite``."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from bench_modules import load_bench

KNOWLEDGE = Path(__file__).resolve().parents[1] / "bench" / "knowledge"
DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
SOURCES = {
    "tatqa": DATA / "finance" / "tatqa_dataset_dev.json",
    "medquad": DATA / "medical" / "medquad_subset.json",
}
needs_data = pytest.mark.skipif(
    not all(p.exists() for p in SOURCES.values()),
    reason="../shared/data (TAT-QA dev, MedQuAD subset) is not present in this checkout",
)


def load(name: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """A bench/knowledge module by name."""
    return load_bench(KNOWLEDGE / f"{name}.py", f"bench_{name}", monkeypatch)


def read(out: Path) -> tuple[dict[str, str], list[dict[str, Any]], dict[str, list[str]]]:
    corpus = {p.stem: p.read_text(encoding="utf-8") for p in sorted((out / "corpus").glob("*.md"))}
    items = [
        json.loads(line) for line in (out / "eval.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    return corpus, items, json.loads((out / "split.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def converted(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each converter run twice with the same seed (defaults: 40 documents, 80 questions)."""
    if not all(p.exists() for p in SOURCES.values()):
        pytest.skip("../shared/data is not present in this checkout")
    mp = pytest.MonkeyPatch()
    out: dict[str, Path] = {}
    try:
        for name, source in SOURCES.items():
            module = load(name, mp)
            for run in ("a", "b"):
                target = tmp_path_factory.mktemp(f"{name}-{run}")
                assert module.main([str(source), "--out", str(target), "--seed", "3"]) == 0
                out[f"{name}-{run}"] = target
    finally:
        mp.undo()
    return out


@needs_data
@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(SOURCES))
def test_every_answer_is_in_its_document_with_four_distinct_choices(
    converted: dict[str, Path], name: str
) -> None:
    corpus, items, _ = read(converted[f"{name}-a"])
    assert len(corpus) == 40 and 60 <= len(items) <= 80
    for item in items:
        title, body = corpus[item["meta"]["document"]].split("\n", 1)
        assert title.startswith("# ") and item["answer_text"] in body, item["id"]
        assert (
            len(item["choices"]) == 4 and len({c.strip().lower() for c in item["choices"]}) == 4
        ), item["id"]
        assert item["choices"][item["answer"]] == item["answer_text"]
    # the correct position is spread, not always the same
    assert len({item["answer"] for item in items}) == 4


@needs_data
@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(SOURCES))
def test_the_split_is_by_document(converted: dict[str, Path], name: str) -> None:
    corpus, items, split = read(converted[f"{name}-a"])
    tune, held = set(split["tune"]), set(split["held_out"])
    assert not tune & held and tune | held == set(corpus)
    assert abs(len(tune) - len(held)) <= 4
    for item in items:
        assert item["meta"]["half"] == ("tune" if item["meta"]["document"] in tune else "held_out")
    halves = {item["meta"]["half"] for item in items}
    assert halves == {"tune", "held_out"}


@needs_data
@pytest.mark.shared_data
@pytest.mark.parametrize("name", list(SOURCES))
def test_the_same_seed_gives_the_same_suite(converted: dict[str, Path], name: str) -> None:
    assert read(converted[f"{name}-a"]) == read(converted[f"{name}-b"])


@needs_data
@pytest.mark.shared_data
def test_medquad_questions_are_not_in_the_corpus(converted: dict[str, Path]) -> None:
    corpus, items, _ = read(converted["medquad-a"])
    for item in items:
        assert item["question"] not in corpus[item["meta"]["document"]]


def test_a_missing_source_file_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tatqa = load("tatqa", monkeypatch)
    with pytest.raises(SystemExit):
        tatqa.main([str(tmp_path / "absent.json"), "--out", str(tmp_path / "out")])
    assert "not found" in capsys.readouterr().err


def test_number_distractors_take_the_answers_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    spans = load("span_distractors", monkeypatch)
    cells = ["$1,496.5", "$1,202.9", "1,107.7", "44.1", "2019", "2018", "12.5%"]
    kind, others = spans.distractors("$1,496.5", cells, [], random.Random(0))
    assert kind == "amount" and others == ["$1,202.9", "$1,107.7", "$44.1"]
    assert spans.distractors("12.5%", cells, [], random.Random(0)) == ("percent", [])
    assert spans.answer_kind("2019") == "year" and spans.answer_kind("$(31.5)") == "amount"
    assert spans.answer_kind("March 29, 1988") == "date" and spans.answer_kind("Deloitte") == "name"


def test_run_refuses_a_folder_that_is_not_a_suite(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = load("run", monkeypatch)
    with pytest.raises(SystemExit):
        run.parse_args(["--suite", str(tmp_path)])
    assert "is not a suite" in capsys.readouterr().err


@needs_data
@pytest.mark.shared_data
@pytest.mark.slow
def test_run_suite_with_a_tiny_model(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Plumbing only (about 25 s): a 2-document suite, the tiny random model, the cheap rows."""
    tatqa = load("tatqa", monkeypatch)
    suite = tmp_path / "mini"
    assert (
        tatqa.main(
            [str(SOURCES["tatqa"]), "--out", str(suite), "--documents", "2", "--questions", "4"]
        )
        == 0
    )
    run = load("run", monkeypatch)
    with pytest.raises(SystemExit):
        run.parse_args(["--suite", str(suite), "--conditions", "nothing like it"])
    out = tmp_path / "out"
    argv = [
        "--suite",
        str(suite),
        "--model",
        "tiny",
        "--retention-limit",
        "3",
        "--token-budget",
        "1",
        "--out",
        str(out),
        "--conditions",
        "no aug*",
        "rules*",
        "stronger*",
    ]
    assert run.main(argv) == 0
    report = json.loads((out / "knowledge-mini.json").read_text(encoding="utf-8"))
    rows = {row["condition"]: row for row in report["rows"]}
    assert list(rows) == [
        "base (no training)",
        "no augmentation",
        "rules backend",
        "stronger model backend",
    ]
    assert rows["stronger model backend"]["status"] == "not run (needs a GPU)"
    # equal tokens: the budget is never below twice the passages' tokens, and both rows train on it
    assert report["token_budget_per_epoch"] == 2 * report["passage_tokens"]
    trained = [rows["no augmentation"], rows["rules backend"]]
    assert all(row["train_tokens"] >= 0.8 * report["token_budget_per_epoch"] for row in trained)
    for row in rows.values():
        if row["status"] == "run":
            assert sum(row["halves"][h]["n"] for h in ("tune", "held_out")) == 4
    assert "top_answer" in rows["rules backend"]["quality"]
    table = (out / "knowledge-mini.md").read_text(encoding="utf-8")
    assert (
        "| stronger model backend | not run (needs a GPU) |" in table and "held-out MC %" in table
    )


def test_passage_passes_keep_the_passages_and_fill_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kinject.records import Record

    ablation = load("ablation", monkeypatch)

    class Words:
        def __call__(self, text: str) -> dict[str, list[int]]:
            return {"input_ids": [0] * len(text.split())}

    passages = [Record(text=f"passage {i} " + "word " * 8) for i in range(2)]  # 10 tokens each
    extra = [Record(text=f"rewrite {i} " + "word " * 3) for i in range(20)]  # 5 tokens each
    once = ablation.fit_to_budget(passages + extra, 2, Words(), 60, seed=1)
    twice = ablation.fit_to_budget(passages + extra, 2, Words(), 60, seed=1, passes=2)
    assert once[:2] == passages and len(once) == 2 + 8
    assert twice[:4] == passages * 2 and len(twice) == 4 + 4
    assert set(map(id, twice[4:])) <= set(map(id, extra))


def test_qa_first_fill_keeps_the_questions_before_the_rewrites(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kinject.records import Record

    ablation = load("ablation", monkeypatch)

    class Words:
        def __call__(self, text: str) -> dict[str, list[int]]:
            return {"input_ids": [0] * len(text.split())}

    passages = [Record(text=f"passage {i} " + "word " * 8) for i in range(2)]  # 10 tokens each
    rewrites = [Record(text=f"rewrite {i} " + "word " * 18) for i in range(10)]  # 20 tokens each
    pairs = [Record(text=f"pair {i} word word", kind="qa") for i in range(10)]  # 4 tokens each
    mixed = passages + [r for pair in zip(rewrites, pairs, strict=True) for r in pair]
    uniform = ablation.fit_to_budget(mixed, 2, Words(), 80, seed=1)
    first = ablation.fit_to_budget(mixed, 2, Words(), 80, seed=1, fill="qa-first")
    assert first[:2] == passages and uniform[:2] == passages
    # 60 tokens to fill: all ten pairs (40), then one rewrite (20); a uniform draw keeps fewer pairs
    assert sum(r.kind == "qa" for r in first) == 10 and len(first) == 2 + 11
    assert sum(r.kind == "qa" for r in uniform) < 10
    # the kept records stay in the set's order
    assert [mixed.index(r) for r in first[2:]] == sorted(mixed.index(r) for r in first[2:])
    with pytest.raises(ValueError, match="fill must be one of"):
        ablation.fit_to_budget(mixed, 2, Words(), 80, seed=1, fill="longest")


def test_answer_coverage_says_where_the_training_data_writes_each_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kinject.evaluation import EvalItem
    from kinject.records import Record

    coverage = load("answer_coverage", monkeypatch)
    passage = Record(
        text="Net sales were $1,496.5 in 2019. We are paid a fixed fee.", kind="passage"
    )
    pair = Record(
        text="Question: What were net sales in 2019?\nAnswer: $1,496.5",
        kind="qa",
        meta={"question": "What were net sales in 2019?", "answer": "$1,496.5"},
    )
    rewrite = Record(text="In 2019 the net sales were $1,496.5; in 2018, $1,202.9.")

    def item(n: int, answer: str, half: str, source: str) -> EvalItem:
        return EvalItem(
            id=f"q{n}",
            question="?",
            choices=[answer, "a", "b", "c"],
            answer=0,
            answer_text=answer,
            meta={"half": half, "answer_from": source},
        )

    items = [
        item(1, "$1,496.5", "tune", "table"),  # a QA pair's answer
        item(2, "$1,202.9", "tune", "table"),  # only in the rewrite
        item(3, "a  FIXED fee", "held_out", "text"),  # in the passage, case and spaces aside
        item(4, "$1,496.5 million", "held_out", "text"),  # written nowhere as the choice writes it
    ]
    found = coverage.coverage([passage, pair, rewrite], items, [passage])
    near = coverage.NEAR
    assert found["tune"]["table"] == {"qa answer": 1, "in a rewrite": 1, near: 1}
    assert found["held_out"]["text"] == {"in a passage": 1, "nowhere": 1}  # 3 of 4 words: not 80%
    assert "| held_out | all | 2 | 0 | 0 | 1 | 1 | 0 |" in coverage.table(found)
    assert coverage.nearly("due to lower prices", [{"primarily", "due", "to", "lower", "prices"}])
