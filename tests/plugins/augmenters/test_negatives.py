import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from kinject.context import RunContext
from kinject.domains import Term
from kinject.evaluation import format_prompt
from kinject.records import Record
from kinject_plugins.augmenters.negatives import perturb_date, perturb_number, same_value


def qa_records(context: RunContext, corpus: list[Record]) -> list[Record]:
    qa = context.plugins.create("augmenter", "qa-generate", {})
    qa.setup(context)
    return list(qa.augment(corpus))


def run(context: RunContext, records: list[Record], **options: Any) -> tuple[Any, list[Record]]:
    augmenter = context.plugins.create("augmenter", "negatives", options)
    augmenter.setup(context)
    return augmenter, list(augmenter.augment(records))


def test_preference_pairs_never_contain_the_answer(
    run_context: RunContext, corpus: list[Record]
) -> None:
    qa = qa_records(run_context, corpus)
    augmenter, out = run(run_context, [*corpus, *qa], ratio=1.0)
    assert len(out) == len(qa) == augmenter.stats["preference_pairs"]
    assert augmenter.stats["no_negative_found"] == 0
    by_id = {r.id: r for r in qa}
    for record in out:
        meta = record.meta
        source = by_id[meta["source_id"]]
        assert record.kind == "preference" and meta["prompt"] == format_prompt(
            source.meta["question"]
        )
        assert meta["chosen"] == source.meta["answer"]
        assert 1 <= len(meta["distractors"]) <= 3 and meta["rejected"] == meta["distractors"][0]
        assert all(not same_value(d, meta["chosen"]) for d in meta["distractors"])
        assert len(set(meta["distractors"])) == len(meta["distractors"])


def test_ratio_selects_a_share(run_context: RunContext, corpus: list[Record]) -> None:
    qa = qa_records(run_context, corpus) * 1
    many = [Record(text=r.text + str(i), kind="qa", meta=r.meta) for i in range(20) for r in qa]
    _, out = run(run_context, many)
    assert 0.15 * len(many) < len(out) < 0.45 * len(many)


def test_entities_are_swapped_from_the_corpus(
    run_context: RunContext, corpus: list[Record]
) -> None:
    augmenter, _ = run(run_context, [])
    pools = augmenter._entity_pools([*corpus, Record(text="Hale Biotech Ltd. opened a plant.")])
    wrong = augmenter.wrong_answers("Veltrane Pharmaceuticals Ltd.", pools, random.Random(0))
    assert wrong[0] == "Hale Biotech Ltd."  # same kind first, then other corpus names
    assert "Veltrane Pharmaceuticals Ltd." not in wrong and "Veltrane" not in wrong


def test_confusable_terms(run_context: RunContext) -> None:
    augmenter, _ = run(run_context, [])
    augmenter.terms = [
        Term("定金", "担保", confusables=["订金"]),
        Term("订金", "预付款", confusables=["定金"]),
    ]
    assert augmenter.wrong_answers("定金", {}, random.Random(0)) == ["订金"]
    assert augmenter.wrong_answers("担保", {}, random.Random(0)) == ["预付款"]


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["mg", "crowns", "days", "%"]), st.integers(0, 99))
def test_perturbed_numbers_differ(number: int, unit: str, seed: int) -> None:
    text = f"{number:,} {unit}"
    assert not same_value(perturb_number(text, random.Random(seed)), text)


@given(
    st.integers(1, 28),
    st.sampled_from(["March", "June"]),
    st.integers(1950, 2030),
    st.integers(0, 99),
)
def test_perturbed_dates_differ(day: int, month: str, year: int, seed: int) -> None:
    text = f"{day} {month} {year}"
    assert not same_value(perturb_date(text, random.Random(seed)), text)
