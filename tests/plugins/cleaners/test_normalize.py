from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kinject.records import Record, Rejected
from kinject_plugins.cleaners.normalize import Normalize, NormalizeOptions, normalize_text


def test_nfkc_folds_fullwidth_latin_and_ligatures() -> None:
    assert normalize_text("Ｈｅｌｌｏ　ｗｏｒｌｄ １２３ ﬁne") == "Hello world 123 fine"


def test_control_and_zero_width_characters_are_removed() -> None:
    assert normalize_text("de\u200bposit\x07 of\u00ad five\ufeff") == "deposit of five"


def test_whitespace_is_collapsed_but_paragraphs_stay() -> None:
    text = "  a \t b  \r\n\r\n\r\n\n c   \n"
    assert normalize_text(text) == "a b\n\nc"


def test_cjk_punctuation_stays_fullwidth_and_ascii_becomes_fullwidth_inside_chinese() -> None:
    assert (
        normalize_text("定金,订金不同。价格（含税）为3.5万元!")
        == "定金，订金不同。价格（含税）为3.5万元！"
    )
    # Full-width punctuation in English text becomes ASCII.
    assert normalize_text("Hello，world！") == "Hello,world!"


def test_cjk_punctuation_can_be_left_alone() -> None:
    opts = NormalizeOptions(cjk_punctuation="keep")
    assert normalize_text("定金,订金", opts) == "定金,订金"


def test_pdf_hyphenation_is_joined() -> None:
    assert (
        normalize_text("injected knowl-\nedge into the mod-\n  el")
        == "injected knowledge into the model"
    )
    # A hyphen before a capital or a digit is a real hyphen.
    assert normalize_text("Franco-\nGerman 2019-\n2020") == "Franco-\nGerman 2019-\n2020"


def test_repeated_headers_and_footers_are_removed_across_pages(split) -> None:
    pages = [
        Record(
            f"ACME Lease Agreement\nClause {i}: the tenant pays rent on day {i}.\nPage {i} of 4",
            source={"uri": "lease.pdf", "page": i},
        )
        for i in range(1, 5)
    ]
    other = Record("ACME Lease Agreement\nA different file.", source={"uri": "other.txt"})
    kept, rejected = split(list(Normalize().apply([*pages, other])))
    assert not rejected
    assert [r.text for r in kept[:4]] == [
        f"Clause {i}: the tenant pays rent on day {i}." for i in range(1, 5)
    ]
    assert kept[0].meta["headers_removed"] == 2
    assert kept[4].text == other.text  # not a page of that document: untouched


def test_headers_kept_when_too_few_pages(split) -> None:
    pages = [Record(f"Header\nbody {i}", source={"uri": "a.pdf", "page": i}) for i in range(2)]
    kept, _ = split(list(Normalize().apply(pages)))
    assert all(r.text.startswith("Header") for r in kept)


def test_empty_record_is_rejected_with_reason() -> None:
    [out] = list(Normalize().apply([Record(" \u200b\n\t ")]))
    assert isinstance(out, Rejected) and out.reason == "empty" and out.plugin == "normalize"


def test_qa_fields_are_normalised_and_id_and_lineage_kept() -> None:
    rec = Record("Q", kind="qa", meta={"question": "Ｗｈａｔ  is\tit?", "answer": "ok"})
    [out] = list(Normalize().apply([rec]))
    assert isinstance(out, Record)
    assert out.meta["question"] == "What is it?"
    assert out.id == rec.id and out.lineage == ["normalize"]


def test_unchanged_record_is_passed_through_untouched() -> None:
    rec = Record("Already clean text.")
    [out] = list(Normalize().apply([rec]))
    assert out is rec


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_normalisation_is_idempotent(text: str) -> None:
    once = normalize_text(text)
    assert normalize_text(once) == once


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.text(max_size=30), st.sampled_from(["a.pdf", "b.pdf", ""])), max_size=12)
)
def test_no_record_is_lost_without_a_reason(items: list[tuple[str, str]]) -> None:
    records = [
        Record(t, source={"uri": u, "page": i} if u else {}) for i, (t, u) in enumerate(items)
    ]
    out = list(Normalize().apply(records))
    assert len(out) == len(records)
    assert [(o.record if isinstance(o, Rejected) else o).id for o in out] == [r.id for r in records]
