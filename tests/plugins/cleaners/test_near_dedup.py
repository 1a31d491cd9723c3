from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kinject.records import Record, Rejected
from kinject_plugins.cleaners.near_dedup import NearDedup

LEASE = "The tenant {verb} pay a deposit of ${amount} to the landlord {name} on {day} March 2024."
ZH = "租客{verb}于2024年3月{day}日向房东支付{amount}元押金。"


def lease(verb: str = "shall", amount: int = 500, name: str = "Smith", day: int = 1) -> Record:
    return Record(
        LEASE.format(verb=verb, amount=amount, name=name, day=day),
        source={"uri": f"{verb}{amount}{name}{day}"},
    )


@pytest.mark.usefixtures("fake_embedder")
def test_near_duplicate_is_dropped_naming_its_survivor(split) -> None:
    first, copy = lease("shall"), lease("must")
    kept, rejected = split(NearDedup(threshold=0.8).apply([first, copy]))
    assert [r.id for r in kept] == [first.id]
    assert rejected[0].reason == "near_duplicate" and rejected[0].detail.startswith(
        f"duplicate of {first.id}"
    )


@pytest.mark.usefixtures("fake_embedder")
def test_templated_but_distinct_texts_are_not_merged(split) -> None:
    records = [
        lease(amount=500),
        lease(amount=700),
        lease(name="Jones"),
        lease(day=2),
        Record(ZH.format(verb="应", day=1, amount=500)),
        Record(ZH.format(verb="应", day=2, amount=500)),
    ]
    near = NearDedup(threshold=0.8)
    kept, rejected = split(near.apply(records))
    assert len(kept) == len(records) and not rejected
    assert near.stats["kept_by_facts"] >= 4
    # Without the fact check the same texts collapse: the check is what keeps them.
    kept, _ = split(
        NearDedup(threshold=0.8, check_facts=False, min_lexical_overlap=0).apply(records)
    )
    assert len(kept) < len(records)


@pytest.mark.usefixtures("fake_embedder")
def test_duplicates_are_found_across_batches_and_within_one(split) -> None:
    records = [
        lease("shall"),
        lease("must"),
        lease("shall", 900),
        lease("will"),
        lease("must", 900),
    ]
    kept, rejected = split(NearDedup(threshold=0.8, batch_size=2).apply(records))
    assert [r.text for r in kept] == [records[0].text, records[2].text]
    assert len(rejected) == 3


@pytest.mark.usefixtures("fake_embedder")
def test_keep_longest_keeps_the_longest_member(split) -> None:
    short = Record("The tenant shall pay a deposit to the landlord.")
    long = Record("The tenant shall pay a deposit to the landlord, in cash.")
    kept, rejected = split(NearDedup(threshold=0.8, keep="longest").apply([short, long]))
    assert [r.id for r in kept] == [long.id]
    assert rejected[0].record.id == short.id


@pytest.mark.usefixtures("fake_embedder")
def test_kinds_are_deduplicated_separately(split) -> None:
    doc = Record("The tenant shall pay a deposit to the landlord.")
    qa = Record("The tenant shall pay a deposit to the landlord.", kind="qa")
    kept, _ = split(NearDedup().apply([doc, qa]))
    assert len(kept) == 2


@pytest.mark.usefixtures("fake_embedder")
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(st.integers(0, 4), st.sampled_from(["shall", "must", "will", "may"])),
        min_size=1,
        max_size=25,
    ),
    st.sampled_from(["first", "longest"]),
    st.integers(1, 8),
)
def test_dedup_never_removes_every_member_of_a_cluster(
    plan: list[tuple[int, str]], keep: str, batch: int
) -> None:
    # Cluster c = the lease for amount 100*c, written with different verbs.
    records = [lease(verb, 100 * (c + 1)) for c, verb in plan]
    out = list(NearDedup(threshold=0.8, keep=keep, batch_size=batch).apply(records))
    assert len(out) == len(records)
    kept = [r for r in out if not isinstance(r, Rejected)]
    assert {r.text.split("$")[1].split()[0] for r in kept} == {str(100 * (c + 1)) for c, _ in plan}
    kept_ids = {r.id for r in kept}
    for r in out:
        if isinstance(r, Rejected):
            assert r.detail.split()[2] in kept_ids


@pytest.mark.slow
def test_real_embedder_merges_rewordings_but_not_templates(split) -> None:
    records = [
        lease("shall", 500),
        lease("must", 500),
        lease("shall", 700),
        lease("shall", 500, "Jones"),
        Record("租客应于2024年3月1日向房东支付500元押金。"),
        Record("租客须于2024年3月1日向房东支付500元押金。"),
        Record("租客应于2024年4月1日向房东支付700元押金。"),
        Record("合同应当采用书面形式。"),
        Record("患者应在饭后服用此药物。"),
    ]
    near = NearDedup()
    kept, rejected = split(near.apply(records))
    assert sorted(r.record.text for r in rejected) == sorted([records[1].text, records[5].text])
    assert near.index_kinds == ["flat"]
