"""eval-questions: held-out multiple-choice questions with same-type distractors."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from kinject.context import RunContext
from kinject.records import Record
from kinject_plugins.augmenters.eval_values import normalise_choice

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"

HARBOUR = (
    "The harbour authority collected $4.2 million in berth fees in 2015. Dredging of the outer "
    "channel cost "
    "$1.8 million. The pilot service raised its fee by 12% in 2017.\n\n"
    "The old lighthouse was restored in 1998 at a cost of $650,000. Visitor numbers fell by 7% "
    "after the storm."
)
ORCHARD = (
    "The cooperative planted 3,400 apple trees in 2011. Its cider press was bought for $95,000. "
    "Membership grew by 18% in 2019.\n\n"
    "The cold store holds fruit for 120 days. The tasting hall opened in 2004 and seats 80 guests."
)


def docs() -> list[Record]:
    out = []
    for uri, title, text in (
        ("harbour.md", "Harbour Yearbook", HARBOUR),
        ("orchard.md", "Orchard Review", ORCHARD),
    ):
        out += [
            Record(text=p, kind="passage", source={"uri": uri, "page": i}, meta={"title": title})
            for i, p in enumerate(text.split("\n\n"))
        ]
    return out


def run(context: RunContext, records: list[Record], **options: Any) -> tuple[Any, list[Record]]:
    augmenter = context.plugins.create("augmenter", "eval-questions", options)
    augmenter.setup(context)
    return augmenter, list(augmenter.augment(records))


def test_four_distinct_choices_of_the_answers_type(run_context: RunContext) -> None:
    _, out = run(run_context, docs())
    assert out and all(r.kind == "qa" for r in out)
    for record in out:
        meta = record.meta
        choices = meta["choices"]
        assert len(choices) == 4 and len({normalise_choice(c) for c in choices}) == 4
        assert choices[meta["answer_index"]] == meta["answer"]
        assert record.text == meta["question"] and meta["question"].startswith("According to ")
        assert normalise_choice(meta["answer"]) not in normalise_choice(meta["question"])
        assert meta["answer"] in meta["fact"]
        if meta["category"] == "money":
            assert all(c.startswith("$") for c in choices)
        if meta["category"] in ("year", "percent"):
            pattern = r"\d{4}" if meta["category"] == "year" else r"\d+%"
            assert all(re.fullmatch(pattern, c) for c in choices)


def test_question_names_its_document_and_keeps_it_short(run_context: RunContext) -> None:
    _, out = run(run_context, docs())
    for record in out:
        assert record.meta["title"] in record.meta["question"]
        assert len(record.meta["question"].split()) <= 25
        assert record.meta["source_id"] in {r.id for r in docs()}


def test_deterministic_and_seeded(run_context: RunContext) -> None:
    first = [(r.text, r.meta["choices"]) for r in run(run_context, docs())[1]]
    assert first == [(r.text, r.meta["choices"]) for r in run(run_context, docs())[1]]
    augmenter = run_context.plugins.create("augmenter", "eval-questions", {})
    augmenter.setup(run_context)
    augmenter.seed += 1
    other = [(r.text, r.meta["choices"]) for r in augmenter.augment(docs())]
    assert sorted(t for t, _ in other) == sorted(t for t, _ in first) and other != first


def test_round_robin_over_documents_and_limits(run_context: RunContext) -> None:
    _, out = run(run_context, docs(), max_questions=4, max_per_record=1)
    uris = [r.source["uri"] for r in out]
    assert len(out) == 4 and uris[0] != uris[1] and set(uris) == {"harbour.md", "orchard.md"}
    per_record: dict[str, int] = {}
    for record in out:
        per_record[record.meta["source_id"]] = per_record.get(record.meta["source_id"], 0) + 1
    assert max(per_record.values()) == 1


def test_skips_are_counted_by_reason(run_context: RunContext) -> None:
    lonely = [
        Record(
            text="The bridge was built in 1931. It carried 40,000 cars a day.",
            kind="passage",
            source={"uri": "bridge.md"},
            meta={"title": "Bridge Notes"},
        )
    ]
    augmenter, out = run(run_context, lonely)
    assert out == []
    skipped = augmenter.stats["skipped"]
    assert skipped["no_distractors"] >= 1  # one year in the corpus: no three other years
    assert skipped["not_standalone"] >= 1  # "It carried ...": no antecedent
    assert augmenter.stats["questions"] == 0 and augmenter.stats["documents"] == 1


def test_stats_cover_documents(run_context: RunContext) -> None:
    augmenter, out = run(run_context, docs())
    stats = augmenter.stats
    assert (
        stats["questions"] == len(out)
        and stats["documents_covered"] == 2
        and stats["facts"] >= len({r.meta["fact"] for r in out})
    )


@pytest.mark.shared_data
def test_heldout_annual_reports_make_questions() -> None:
    path = SHARED / "finance" / "tatqa_dataset_dev.json"
    if not path.exists():
        pytest.skip(f"real data not present: {path} (../shared/data is absent in a user's clone)")
    from kinject_plugins.augmenters.eval_questions import EvalQuestions

    contexts = json.loads(path.read_text(encoding="utf-8"))[139:]  # the held-out half
    records = [
        Record(
            text=p["text"],
            kind="passage",
            source={"uri": f"report-{i}", "page": j},
            meta={"title": f"annual report {i}"},
        )
        for i, c in enumerate(contexts)
        for j, p in enumerate(c["paragraphs"])
    ]
    augmenter = EvalQuestions()
    out = list(augmenter.augment(records))
    assert len(out) >= 50 and augmenter.stats["documents_covered"] >= 40
    for record in out:
        answer, question = (
            normalise_choice(record.meta["answer"]),
            normalise_choice(record.meta["question"]),
        )
        # whole words: "US" may sit in "various"
        assert not re.search(rf"(?<!\w){re.escape(answer)}(?!\w)", question)
        assert len(set(record.meta["choices"])) == 4


def _phrase(sentence: str, asked: str, corpus_text: str = "") -> tuple[str | None, str]:
    """The question (or skip reason) for the value ``asked`` of ``sentence``."""
    from kinject_plugins.augmenters.eval_questions import (
        EvalQuestionsOptions,
        Phrasing,
        language_data,
        phrase_question,
    )
    from kinject_plugins.augmenters.eval_values import CorpusWords, TypedValue, value_type
    from kinject_plugins.augmenters.facts import extract_values

    words = language_data("en")
    texts = [sentence, corpus_text]
    typed = [
        TypedValue(v, *value_type(v, words, t), "doc", t) for t in texts for v in extract_values(t)
    ]
    corpus = CorpusWords.read(texts, typed, words)
    answer = next(t for t in typed if t.value.text == asked and t.sentence == sentence)
    return phrase_question(answer, Phrasing(words, "Mill Digest", corpus), EvalQuestionsOptions())


def test_a_numbered_label_is_no_name() -> None:
    other = (
        "The survey was run by Kestrel Partners in the valley, and Kestrel Partners wrote it up."
    )
    assert _phrase("The method is set out in Appendix 4 of the survey.", "Appendix", other) == (
        None,
        "label",
    )
    assert (
        _phrase("Details of the loan are given in Schedule C of the deed.", "Schedule C", other)[1]
        == "label"
    )


def test_statement_needs_a_subject_and_a_finite_verb() -> None:
    assert (
        _phrase("Output for the season ended 30 June 2021 at the northern mill.", "30 June 2021")[1]
        == "no_verb"
    )
    assert (
        _phrase("Also excludes the cost of $3.5 million for new looms.", "$3.5 million")[1]
        == "no_verb"
    )
    question, _ = _phrase("The northern mill produced 420 tonnes of wool in 2021.", "2021")
    assert (
        question
        == "According to Mill Digest, the northern mill produced 420 tonnes of wool in which year?"
    )


def test_a_value_coordinated_with_a_bare_number_is_not_asked() -> None:
    assert (
        _phrase("Stocks held as of May 31, 2021 and 2020 were valued at cost.", "May 31, 2021")[1]
        == "coordinated"
    )


def test_list_debris_is_not_asked() -> None:
    assert (
        _phrase("The mill bought • new looms for $2.1 million in 2020.", "$2.1 million")[1]
        == "list_debris"
    )
    assert (
        _phrase("b. The mill bought new looms for $2.1 million in 2020.", "$2.1 million")[1]
        == "list_debris"
    )


def test_dangling_end_words_are_dropped() -> None:
    sentence = (
        "Wool income rose by 4% mainly as a result of higher prices for fine fleece at the "
        "autumn market in the valley."
    )
    assert (
        _phrase(sentence, "4%")[0]
        == "According to Mill Digest, wool income rose by which percentage?"
    )


def test_name_choices_are_names_the_corpus_writes_mid_sentence() -> None:
    from kinject_plugins.augmenters.eval_questions import EvalQuestions

    text = (
        "The wool was sold to Harlow Weavers in spring. Since then the mill has hired staff. "
        "A second lot went to Brenton Cloth in May. A third lot went to Calder Looms in June. "
        "Dyes came from Ostrava Dyeworks in winter. The mill met Harlow Weavers’s buyers in July. "
        "Include the costs of transport in the total. The fourth lot was shipped to Harlow "
        "Weavers by rail."
    )
    records = [
        Record(text=text, kind="passage", source={"uri": "mill.md"}, meta={"title": "Mill Digest"})
    ]
    augmenter = EvalQuestions()
    out = list(augmenter.augment(records))
    names = [r for r in out if r.meta["category"] == "name"]
    assert names
    for record in names:
        choices = record.meta["choices"]
        assert not {"Since", "Include", "Harlow Weavers’s"} & set(choices)
        # no possessive variant
        assert len({normalise_choice(c).removesuffix("s") for c in choices}) == 4
    assert augmenter.stats["skipped"].get("possessive", 0) >= 1


def test_respectively_lists_are_not_asked() -> None:
    sentence = (
        "Fleece sales were $4.1 million, $3.8 million and $3.2 million in fiscal 2021, "
        "fiscal 2020 and fiscal 2019, respectively."
    )
    assert _phrase(sentence, "2021")[1] == "in_list"
