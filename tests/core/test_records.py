from pathlib import Path

from kinject.records import Record, read_jsonl, write_jsonl


def test_id_is_stable_content_hash() -> None:
    a = Record(text="hello", source={"uri": "a.txt", "page": 1})
    b = Record(text="hello", source={"uri": "a.txt", "page": 1})
    c = Record(text="hello", source={"uri": "a.txt", "page": 2})
    assert a.id == b.id
    assert a.id != c.id


def test_derive_extends_lineage_and_changes_id() -> None:
    base = Record(text="fact", lineage=["text"], meta={"lang": "en"})
    new = base.derive("fact, rephrased", "paraphrase", kind="document", meta={"variant": 1})
    assert new.lineage == ["text", "paraphrase"]
    assert new.meta == {"lang": "en", "variant": 1}
    assert new.id != base.id


def test_with_text_keeps_id() -> None:
    base = Record(text="a  b", lineage=["text"])
    assert base.with_text("a b", "normalize").id == base.id


def test_jsonl_round_trip_is_atomic(tmp_path: Path) -> None:
    path = tmp_path / "out" / "records.jsonl"
    records = [
        Record(text=f"t{i}", kind="qa", meta={"question": "q", "answer": str(i)}) for i in range(3)
    ]
    assert write_jsonl(path, records) == 3
    assert not path.with_name("records.jsonl.partial").exists()
    assert list(read_jsonl(path)) == records
