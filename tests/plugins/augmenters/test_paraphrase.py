import json
from typing import Any

from kinject.context import RunContext
from kinject.records import Record
from kinject_plugins.augmenters.facts import fact_problems, name_aliases
from kinject_plugins.augmenters.paraphrase import Paraphrase


def run(
    context: RunContext, records: list[Record], **options: object
) -> tuple[Paraphrase, list[Record]]:
    augmenter = context.plugins.create("augmenter", "paraphrase", dict(options))
    augmenter.setup(context)
    return augmenter, list(augmenter.augment(records))


def test_k_rewrites_preserve_every_value(run_context: RunContext, corpus: list[Record]) -> None:
    augmenter, out = run(run_context, corpus, k=3)
    assert len(out) == 3
    aliases = name_aliases(corpus[0].text)
    for record in out:
        assert record.text != corpus[0].text
        assert fact_problems(corpus[0].text, record.text, aliases) == [], record.text
        assert record.lineage == ["paraphrase"] and record.source == corpus[0].source
    assert augmenter.stats["facts_total"] == 5
    assert augmenter.stats["facts_under_k"] == 0 and augmenter.stats["phrasings_min"] == 3


def test_rewrites_are_diverse(run_context: RunContext, corpus: list[Record]) -> None:
    _, out = run(run_context, corpus, k=5)
    sentences = [s for r in out for s in r.text.replace("\n\n", " ").split(". ")]
    assert len({r.text for r in out}) == 5
    assert any(s.startswith(("Q:", "Question:")) or "?" in s for s in sentences)  # QA form
    assert any("Mira Okafor founded" in r.text for r in out)  # active voice


def test_same_seed_same_output_other_seed_differs(
    run_context: RunContext, corpus: list[Record]
) -> None:
    first = [r.text for r in run(run_context, corpus, k=3)[1]]
    assert first == [r.text for r in run(run_context, corpus, k=3)[1]]
    run_context.config.seed = 7
    assert first != [r.text for r in run(run_context, corpus, k=3)[1]]


def test_coverage_lists_facts_below_k(run_context: RunContext) -> None:
    record = Record(text="定金于2020年5月1日支付。", source={"uri": "zh.txt"})
    augmenter, out = run(run_context, [record], k=10)
    assert 1 <= len(out) < 10  # no duplicate rewrites: only as many as there are distinct phrasings
    assert out[0].text == "问：定金于哪一天支付？答：2020年5月1日。"
    stats = augmenter.stats
    assert stats["facts_total"] == 1 and stats["facts_under_k"] == 1
    assert stats["under_k"][0]["sentence"] == record.text
    assert 0 < stats["under_k"][0]["phrasings"] < 10
    json.dumps(stats)  # goes into the manifest


def test_endpoint_rewrite_that_changes_a_number_is_rejected(
    run_context: RunContext, fake_endpoint: Any
) -> None:
    passage = "The maximum daily dose of Veltrane is 40 mg."
    # requests run concurrently: the reply depends on the sample number (sent as the seed), not on
    # order
    server = fake_endpoint(
        lambda body: (
            "Veltrane may be taken at up to 45 mg per day."
            if body.get("seed")
            else "Veltrane may be taken at up to 40 mg per day."
        )
    )
    augmenter, out = run(
        run_context,
        [Record(text=passage, source={"uri": "d.txt"})],
        k=2,
        backend="endpoint",
        base_url=server.base_url,
        model="fake",
    )
    assert [r.text for r in out] == ["Veltrane may be taken at up to 40 mg per day."]
    assert augmenter.stats["rejected"] == {"fact_changed": 1}
    assert augmenter.stats["facts_under_k"] == 1
    quarantined = [
        json.loads(line) for line in run_context.quarantine.path.read_text().splitlines()
    ]
    assert quarantined[0]["reason"] == "fact_changed" and "40 mg" in quarantined[0]["detail"]
    assert (
        server.requests[0]["model"] == "fake"
        and passage in server.requests[0]["messages"][1]["content"]
    )


def test_order_places_rewrites_after_their_source(
    run_context: RunContext, corpus: list[Record]
) -> None:
    other = Record(text="Nothing to see here.")
    _, out = run(run_context, [other, *corpus], k=2)
    assert {r.meta["order"] for r in out} == {1.25}
