import random

from kinject.context import RunContext
from kinject.domains import Term
from kinject.records import Record
from kinject_plugins.augmenters.synonym import swap_synonyms, synonym_groups

GROUPS = synonym_groups(
    [
        Term("lease", synonyms=["tenancy agreement"]),
        Term("deposit", synonyms=["security"]),
        Term("Act", synonyms=["statute"]),
        Term("定金", synonyms=["保证金"]),
    ]
)


def test_swaps_terms_both_ways() -> None:
    text, n = swap_synonyms(
        "The lease requires a deposit. A tenancy agreement ends.", GROUPS, random.Random(0)
    )
    assert n == 3
    assert text == "The tenancy agreement requires a security. A lease ends."


def test_never_inside_numbers_citations_or_names() -> None:
    source = (
        "Under Article 12 of the Corvell Water Act, the deposit is 450 crowns. Deposited "
        "12deposit x."
    )
    text, n = swap_synonyms(source, GROUPS, random.Random(0))
    assert "Corvell Water Act" in text and "Article 12" in text and "450 crowns" in text
    assert "12deposit" in text and "Deposited" in text
    assert n == 1 and "the security is" in text


def test_chinese_terms() -> None:
    text, n = swap_synonyms("买方支付定金5000元。", GROUPS, random.Random(0))
    assert text == "买方支付保证金5000元。" and n == 1


def test_augmenter_writes_changed_copies_only(run_context: RunContext, tmp_path: object) -> None:
    augmenter = run_context.plugins.create("augmenter", "synonym", {})
    augmenter.setup(run_context)
    augmenter.groups = GROUPS
    out = list(
        augmenter.augment([Record(text="The lease is signed."), Record(text="Nothing here.")])
    )
    assert [r.text for r in out] == ["The tenancy agreement is signed."]
    assert out[0].meta["synonym_swaps"] == 1 and augmenter.stats["records_written"] == 1


def test_a_group_of_documents_gives_the_copies_of_the_whole_input(run_context: RunContext) -> None:
    augmenter = run_context.plugins.create("augmenter", "synonym", {})
    augmenter.setup(run_context)
    augmenter.groups = GROUPS
    records = [
        Record(text=f"Lease {i} needs a deposit.", source={"uri": f"d{i}"}) for i in range(6)
    ]
    whole = list(augmenter.augment(records))
    augmenter.input_offset = 4  # as the runner sets it on the task given the last two documents
    tail = list(augmenter.augment(records[4:]))
    assert [r.to_dict() for r in tail] == [r.to_dict() for r in whole[4:]]
    assert [r.meta["order"] for r in tail] == [4.3, 5.3]
