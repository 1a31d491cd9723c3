"""The question filters, on hand-made cases and on real annual-report text (TAT-QA, held-out
half).
"""

from collections import Counter
from typing import Any

from kinject.records import Record
from kinject_plugins.augmenters.filters import (
    Candidate,
    FilterOptions,
    QAFilter,
    grounded,
    max_answer_share,
)
from kinject_plugins.augmenters.prompts import load_prompts
from kinject_plugins.augmenters.subject import Subject, document_subjects, names_subject

PASSAGE = (
    "Net sales of $1.2 billion for fiscal year 2018 increased 58.5% from $757.3 million for "
    "fiscal year 2017."
)
REPORT = Subject("", "Annual report extract 18", "title")


def make_filter(**options: object) -> QAFilter:
    frames = load_prompts("en").frames
    return QAFilter(
        FilterOptions.model_validate(options), frames["standalone_frames"], frames["cloze_frame"][0]
    )


def candidate(
    question: str,
    answer: str,
    passage: str = PASSAGE,
    document: str = "d",
    subject: Subject = REPORT,
) -> Candidate:
    return Candidate(question, answer, passage, document, subject)


def test_grounded() -> None:
    assert grounded("$757.3 million", PASSAGE) and grounded(
        "58.5 %", PASSAGE.replace("58.5%", "58.5 %")
    )
    assert (
        not grounded("$757 million", PASSAGE)
        and not grounded("1975", PASSAGE)
        and not grounded("", PASSAGE)
    )


def test_each_check_drops_with_its_reason() -> None:
    f = make_filter(max_question_words=12, max_cloze_words=15)
    cases = {
        "answer_not_in_source": candidate(
            "What were net sales in fiscal year 2016?", "$600 million"
        ),
        "question_too_long": candidate(
            "By how much did the net sales of the company increase in fiscal year 2018 compared "
            "with the net sales of fiscal year 2017?",
            "58.5%",
        ),
        "long_cloze": candidate(
            'Fill in the blank: "Net sales of $1.2 billion for fiscal year 2018 increased ___ from '
            '$757.3 million for fiscal year 2017." What goes in the blank?',
            "58.5%",
        ),
        "answer_too_long": candidate("What happened?", PASSAGE),
        "answer_in_question": candidate("Did net sales increase 58.5%?", "58.5%"),
    }
    for reason, case in cases.items():
        assert f.check(case) is None, reason
    assert f.dropped == Counter(cases.keys())


def test_questions_are_made_standalone() -> None:
    f = make_filter()
    acme = Subject("Acme Inc.", "Annual Report 2019", "organisation")
    kept = f.check(
        candidate("What were our net sales in fiscal year 2018?", "$1.2 billion", subject=acme)
    )
    assert (
        kept is not None and kept.question == "What were Acme Inc.'s net sales in fiscal year 2018?"
    )
    framed = f.check(candidate("What were net sales in fiscal year 2018?", "$1.2 billion"))
    assert (
        framed is not None
        and "Annual report extract 18" in framed.question
        and framed.question.endswith("fiscal year 2018?")
    )
    cloze = f.check(
        candidate('Fill in the blank: "Net sales grew ___." What goes in the blank?', "58.5%")
    )
    assert cloze is not None and cloze.question.startswith(
        "Fill in the blank (Annual report extract 18): "
    )
    # nothing to name the document by, and it still says "we": cannot be answered closed book
    assert (
        f.check(
            candidate("What did we sell in fiscal year 2018?", "$1.2 billion", subject=Subject())
        )
        is None
    )
    assert f.dropped == {"not_standalone": 1} and f.resolved == 1 and f.framed == 2


def test_diverse_caps_one_answer_and_drops_near_duplicates() -> None:
    f = make_filter(answer_share=0.1, min_per_answer=2)
    same = [candidate(f"In which year did item {i} change?", "2018") for i in range(5)]
    dupes = [
        candidate("What were net sales in 2018?", "$1.2 billion"),
        candidate("What were the net sales in 2018?", "$1.2 billion"),
        candidate("In 2018, net sales were how much?", "$1.2 billion"),
    ]
    kept = f.diverse(same + dupes)
    assert [c.answer for c in kept].count("2018") == 2
    # the second differs by one word; the third says it in another order: a new phrasing
    assert [c.question for c in kept if c.answer != "2018"] == [
        "What were net sales in 2018?",
        "In 2018, net sales were how much?",
    ]
    assert f.dropped == {"answer_overused": 3, "near_duplicate": 1}


def test_max_answer_share_counts_large_documents_only() -> None:
    small = [candidate(f"q{i}?", "2018", document="small") for i in range(5)]
    big = [candidate(f"q{i}?", str(i), document="big") for i in range(40)] + [
        candidate("x?", "0", document="big")
    ]
    assert max_answer_share(small) is None
    assert max_answer_share(big) == round(2 / 41, 4)


def test_real_questions_from_held_out_reports(
    tatqa_held_out: list[tuple[Record, list[dict[str, Any]]]],
) -> None:
    """Questions people wrote about these reports ("What is the company paid on ...?"), with their
    answers stated in the text or table: the filter keeps them and makes each name its document."""
    f = make_filter(max_question_words=40)
    subjects = document_subjects([record for record, _ in tatqa_held_out])
    spans, kept = 0, []
    for record, questions in tatqa_held_out:
        for q in questions:
            if (
                q["answer_type"] != "span"
                or q["answer"][0] not in record.text
                or len(q["answer"][0].split()) > 12
            ):
                continue  # (a third of the span answers are clauses longer than the answer cap)
            spans += 1
            result = f.check(
                candidate(
                    q["question"],
                    q["answer"][0],
                    record.text,
                    record.source["uri"],
                    subjects[record.source["uri"]],
                )
            )
            kept += [result] if result is not None else []
    assert spans >= 30
    assert len(kept) >= 0.9 * spans, f.dropped
    assert all(names_subject(c.question, c.subject) for c in kept)
    # a human question with a made-up answer is not grounded
    record, _ = tatqa_held_out[0]
    assert (
        f.check(
            candidate("What was the revenue?", "$987,654.3 million", record.text, "x", Subject())
        )
        is None
    )
