from __future__ import annotations

from pathlib import Path

import pytest

from kinject.evaluation import EvalItem
from kinject.records import Record
from kinject_plugins.cleaners.decontaminate import Decontaminate

ITEMS = [
    EvalItem(
        id="q1",
        question="What is the maximum deposit allowed as a percentage of the contract price?",
        answer_text="The deposit may not exceed twenty percent of the value of the main contract "
        "in any case.",
    ),
    EvalItem(
        id="q2", question="定金的数额最多可以占主合同标的额的百分之几？", answer_text="百分之二十"
    ),
]
LEAKED = [
    Record(
        "Practice: What is the maximum deposit allowed as a percentage of the contract price? 20%."
    ),
    Record("问：定金的数额最多可以占主合同标的额的百分之几？答：百分之二十。"),
    Record(
        "Note that the deposit may not exceed twenty percent of the value of the main contract in "
        "any case."
    ),
]
SAME_FACT = [
    Record("The deposit may not exceed 20% of the contract price."),
    Record("定金的数额由当事人约定，但不得超过主合同标的额的百分之二十。"),
    Record(
        "x",
        kind="qa",
        meta={"question": "How large may a deposit be relative to the price?", "answer": "20%"},
    ),
]


def test_ngram_overlap_drops_leaks_and_keeps_shared_facts(split) -> None:
    cleaner = Decontaminate(embed=False)
    cleaner.protect(ITEMS)
    kept, rejected = split(cleaner.apply([*LEAKED, *SAME_FACT]))
    assert [r.record.id for r in rejected] == [r.id for r in LEAKED]
    assert all(r.reason == "contaminated" for r in rejected)
    assert "eval item q1" in rejected[0].detail
    assert [r.id for r in kept] == [r.id for r in SAME_FACT]


def test_kinds_limits_the_check_to_training_questions(split) -> None:
    leaked_qa = Record("x", kind="qa", meta={"question": ITEMS[0].question, "answer": "20%"})
    cleaner = Decontaminate(embed=False, kinds=["qa"])
    cleaner.protect(ITEMS)
    kept, rejected = split(cleaner.apply([*LEAKED, leaked_qa]))
    assert [r.record.id for r in rejected] == [leaked_qa.id]
    assert [r.id for r in kept] == [r.id for r in LEAKED]


def test_short_reference_answers_do_not_drop_records() -> None:
    cleaner = Decontaminate(embed=False)
    cleaner.protect(ITEMS)
    out = list(cleaner.apply([Record("百分之二十是常见的比例。")]))
    assert isinstance(out[0], Record)


def test_eval_path_and_run_context(run_context, tmp_path: Path, split) -> None:
    path = tmp_path / "eval.jsonl"
    path.write_text(
        '{"id": "e9", "question": "Which court hears appeals from the district courts of this '
        'state?"}\n'
    )
    run_context.eval_items = ITEMS[:1]
    cleaner = Decontaminate(embed=False, eval_path=str(path))
    cleaner.setup(run_context)
    _, rejected = split(
        cleaner.apply(
            [
                Record(
                    "Q: which court hears appeals from the district courts of this state? A: the "
                    "court of appeals"
                )
            ]
        )
    )
    assert "e9" in rejected[0].detail


def test_nothing_to_protect_passes_everything(run_context) -> None:
    cleaner = Decontaminate(embed=False)
    cleaner.setup(run_context)
    assert list(cleaner.apply(SAME_FACT)) == SAME_FACT


@pytest.mark.slow
def test_embedding_match_catches_light_rewording_only(split) -> None:
    cleaner = Decontaminate()
    cleaner.protect(ITEMS)
    reworded = Record(
        "x",
        kind="qa",
        meta={
            "question": "What's the maximum deposit allowed as a percentage of the contract price?"
        },
    )
    kept, rejected = split(cleaner.apply([reworded, *SAME_FACT]))
    assert [r.record.id for r in rejected] == [reworded.id]
    assert "cosine" in rejected[0].detail
    assert [r.id for r in kept] == [r.id for r in SAME_FACT]
    # Sentences of documents are embedded on request; a same-fact sentence still stays.
    cleaner = Decontaminate(embed_documents=True)
    cleaner.protect(ITEMS)
    doc = Record(
        "Background. What's the maximum deposit allowed as a percentage of the contract price? "
        "See below."
    )
    kept, rejected = split(cleaner.apply([doc, *SAME_FACT]))
    assert [r.record.id for r in rejected] == [doc.id]


def test_leak_is_found_after_standardize_rewrote_dates_and_money() -> None:
    from kinject_plugins.cleaners.standardize import Standardize

    item = EvalItem(
        id="d1",
        question="Under the lease signed by Anna Smith in Boston on 5 March 2024, what deposit "
        "did the tenant pay?",
    )
    cleaner = Decontaminate(embed=False)
    cleaner.protect([item])
    leaked = Standardize().clean(Record(f"Practice question: {item.question} Answer: $1,200."))
    assert "2024-03-05" in leaked.text
    [out] = list(cleaner.apply([leaked]))
    assert out.reason == "contaminated"
