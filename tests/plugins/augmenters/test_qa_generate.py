from typing import Any

from kinject.context import RunContext
from kinject.evaluation import format_prompt
from kinject.records import Record
from kinject_plugins.augmenters.ordering import training_order
from kinject_plugins.augmenters.qa_generate import parse_qa_lines


def run(context: RunContext, records: list[Record], **options: Any) -> tuple[Any, list[Record]]:
    augmenter = context.plugins.create("augmenter", "qa-generate", options)
    augmenter.setup(context)
    return augmenter, list(augmenter.augment(records))


def test_answers_occur_in_the_source(run_context: RunContext, corpus: list[Record]) -> None:
    augmenter, out = run(run_context, corpus)
    assert out and all(r.kind == "qa" for r in out)
    for record in out:
        question, answer = record.meta["question"], record.meta["answer"]
        # "the Corvell Water Act" is a complete answer
        assert answer.lower() in corpus[0].text.lower()
        assert answer not in question
        assert record.text == f"{format_prompt(question)} {answer}"
        assert record.meta["source_id"] == corpus[0].id
    answers = {r.meta["answer"] for r in out}
    assert {"40 mg", "14 March 2011", "450 crowns", "30 days", "1998"} <= answers


def test_several_phrasings_per_fact(run_context: RunContext, corpus: list[Record]) -> None:
    augmenter, out = run(run_context, corpus, phrasings=3)
    assert augmenter.stats["facts_total"] == 5 and augmenter.stats["facts_under_k"] == 0
    dose = {r.meta["question"] for r in out if r.meta["answer"] == "40 mg"}
    assert "What is the maximum daily dose of Veltrane?" in dose and len(dose) >= 2


def test_deterministic(run_context: RunContext, corpus: list[Record]) -> None:
    assert [r.text for r in run(run_context, corpus)[1]] == [
        r.text for r in run(run_context, corpus)[1]
    ]


def test_qa_position_orders_training(run_context: RunContext, corpus: list[Record]) -> None:
    docs = [Record(text="Intro without facts."), *corpus]
    _, interleaved = run(run_context, docs)
    assert training_order([*docs, *interleaved])[:2] == docs
    assert training_order([*docs, *interleaved])[-1] in interleaved
    _, before = run(run_context, docs, qa_position="before")
    ordered = training_order([*docs, *before])
    assert ordered[-2:] == docs and all(r.kind == "qa" for r in ordered[:-2])


def test_endpoint_pairs_must_be_extractive(
    run_context: RunContext, corpus: list[Record], fake_endpoint: Any
) -> None:
    reply = (
        "1. Q: How much Veltrane may be taken per day at most?\nA: 40 mg\n"
        "Q: Who runs Veltrane?\nA: Sam Smith\n**Q:** When was the Corvell Water Act "
        "passed?\n**A:** 14 March 2011"
    )
    server = fake_endpoint(lambda body: reply)
    augmenter, out = run(
        run_context, corpus, backend="endpoint", base_url=server.base_url, model="m"
    )
    assert [(r.meta["question"], r.meta["answer"]) for r in out] == [
        ("How much Veltrane may be taken per day at most?", "40 mg"),
        ("When was the Corvell Water Act passed?", "14 March 2011"),
    ]
    assert augmenter.stats["rejected"] == {"answer_not_in_source": 1}
    quarantined = run_context.quarantine.path.read_text(encoding="utf-8")
    assert '"reason": "answer_not_in_source"' in quarantined and "Sam Smith" in quarantined
    assert "Passage:" in server.requests[0]["messages"][1]["content"]


def test_parse_qa_lines() -> None:
    assert parse_qa_lines("Question: a?\nAnswer: b.\nnoise\nA: orphan") == [("a?", "b")]
