"""The rules backends of paraphrase and qa-generate, handed one group of documents at a time by
the runner's own task function (what a Ray task runs, here in this process), write what they
write over the whole input, and their stats merge to the whole input's."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from conftest import tatqa_documents

from kinject.context import RunContext
from kinject.records import Record
from kinject.runners.augment import augment_group, plan_groups, task_rows


def documents() -> list[Record]:
    """Real annual-report extracts (held-out TAT-QA dev), one Record per paragraph so a document
    has several Records, as a chunked PDF has; and three notes, the first and the last far apart,
    where a word one note writes in lower case decides a question about another ("Why did
    attendance decrease ...?" needs "decrease" somewhere): the vocabulary is the whole input's."""
    out = []
    for record, _ in tatqa_documents("held_out", 6):
        for i, part in enumerate(record.text.split("\n\n")):
            out.append(Record(text=part, source=record.source, meta={**record.meta, "part": i}))
    own = [
        "Attendance decreased by 12% in 2021 primarily due to the closure of the east wing.",
        "Rent may rise by 4% in 2022 under the lease signed on 3 March 2020.",
        "A further decrease is expected; the rent review is due on 1 June 2023.",
    ]
    notes = [Record(text=t, source={"uri": f"notes/{i}.md"}) for i, t in enumerate(own)]
    return [notes[0], *out, *notes[1:]]


def rows(records: list[Record]) -> list[tuple[str, str, str]]:
    return [(r.id, r.text, repr(sorted(r.meta.items()))) for r in records]


def in_groups(augmenter: Any, records: list[Record], size: int) -> tuple[list[Record], Any]:
    """The augmenter run as the ray runner runs it, group by group in this process."""
    plan = plan_groups(augmenter, records, size)
    assert plan is not None
    groups, places = plan
    assert len(groups) >= 3
    augmenter.prepare_corpus(records)
    new: list[Record] = []
    parts = []
    for row in task_rows(groups, places, len(records)):
        written, stats = pickle.loads(
            augment_group(pickle.loads(pickle.dumps(row)), augmenter)["out"]
        )
        new += written
        parts.append(stats)
    augmenter.prepare_corpus(None)
    return new, augmenter.merge_stats(parts)


@pytest.mark.parametrize(
    ("name", "options"),
    [("qa-generate", {"qa_position": "before"}), ("paraphrase", {"position": "before"})],
)
def test_groups_of_documents_write_what_the_whole_input_writes(
    run_context: RunContext, name: str, options: dict[str, Any]
) -> None:
    records = documents()
    if name == "qa-generate":
        # as the pack recipes chain them: paraphrase's rewrites follow all the documents, so a
        # document's Records are no longer consecutive; qa-generate does not read the rewrites
        first = run_context.plugins.create("augmenter", "paraphrase", {})
        first.setup(run_context)
        records = [*records, *first.augment(records)]
    whole = run_context.plugins.create("augmenter", name, options)
    whole.setup(run_context)
    assert whole.per_document
    expected = list(whole.augment(records))

    parted = run_context.plugins.create("augmenter", name, options)
    parted.setup(run_context)
    got, merged = in_groups(parted, records, 4)
    assert expected and rows(got) == rows(expected)
    for key in ("facts_total", "facts_under_k", "phrasings_min", "phrasings_mean", "k"):
        assert merged[key] == whole.stats[key], key
    for key in ("facts_at_k_share", "qa_records", "named_subject_share", "max_answer_share"):
        assert merged.get(key) == whole.stats.get(key), key
    assert merged.get("dropped") == whole.stats.get("dropped")
    assert len(merged["under_k"]) == len(whole.stats["under_k"])


def test_a_model_backend_stays_in_the_driver(run_context: RunContext) -> None:
    options = {"backend": "endpoint", "base_url": "http://127.0.0.1:9/v1", "model": "m"}
    augmenter = run_context.plugins.create("augmenter", "qa-generate", options)
    augmenter.setup(run_context)
    assert not augmenter.per_document
