"""The structured source: JSON, JSONL, CSV and XML rows, field mapping, bad rows reported."""

from __future__ import annotations

import json

from source_files import read_outcome

from kinject_plugins.sources.structured import StructuredSource


def test_jsonl_rows_qa_and_malformed_lines(files):
    lines = [
        json.dumps({"text": "Tenants give 45 days notice.", "topic": "lease", "nested": {"x": 1}}),
        "{not json",
        json.dumps({"kind": "qa", "question": "Notice period?", "answer": "45 days."}),
        json.dumps({"topic": "no text here"}),
        json.dumps(["a", "list"]),
    ]
    outcome = read_outcome(StructuredSource(), files("rows.jsonl", "\n".join(lines)))
    assert [r["kind"] for r in outcome.records] == ["document", "qa"]
    doc, qa = outcome.records
    assert doc["meta"] == {"topic": "lease"} and doc["source"]["row"] == 1
    assert qa["meta"]["question"] == "Notice period?" and qa["meta"]["answer"] == "45 days."
    reasons = {(i.reason, i.uri.rsplit("#", 1)[1]) for i in outcome.issues}
    assert reasons == {
        ("malformed_row", "row=2"),
        ("missing_text", "row=4"),
        ("malformed_row", "row=5"),
    }


def test_field_mapping_and_id_field(files):
    rows = [
        {
            "id": "a1",
            "title": "Appeals",
            "body": "Heard within 21 days.",
            "court": "Harbor",
            "year": 2020,
        }
    ]
    source = StructuredSource(
        text_fields=["title", "body"],
        meta_fields=["court"],
        id_field="id",
        records_path="data.items",
    )
    (record,) = read_outcome(
        source, files("rows2.json", json.dumps({"data": {"items": rows}}))
    ).records
    assert record["text"] == "Appeals\n\nHeard within 21 days."
    assert record["meta"] == {"court": "Harbor"}
    assert record["source"]["key"] == "a1"


def test_csv_and_tsv(files):
    outcome = read_outcome(
        StructuredSource(), files("t.csv", "text,lang\nhello,en\n,en\nbonjour,fr\n")
    )
    assert [r["text"] for r in outcome.records] == ["hello", "bonjour"]
    assert outcome.records[1]["source"]["row"] == 3 and outcome.records[1]["meta"] == {"lang": "fr"}
    assert [i.reason for i in outcome.issues] == ["missing_text"]
    tsv = read_outcome(StructuredSource(), files("t.tsv", "body\tx\nhi there\t1\n"))
    assert tsv.records[0]["text"] == "hi there"


def test_csv_without_text_column_is_refused_once(files):
    outcome = read_outcome(StructuredSource(), files("t.csv", "a,b\n1,2\n3,4\n"))
    assert outcome.reason == "missing_text" and "columns: a, b" in outcome.detail
    assert not outcome.issues


def test_xml_rows_and_attributes(files):
    xml = (
        '<docs><doc id="1" lang="en"><text>Rule one.</text></doc><doc id="2"><text>Rule '
        "two.</text></doc></docs>"
    )
    records = read_outcome(StructuredSource(id_field="id"), files("d.xml", xml)).records
    assert [r["text"] for r in records] == ["Rule one.", "Rule two."]
    assert records[0]["meta"] == {"lang": "en"} and records[0]["source"]["key"] == "1"


def test_xml_entities_are_not_expanded(files):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b '
        '"&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY secret SYSTEM "file:///etc/passwd">]><d><r><text>x &b; &secret;</text></r></d>'
    )
    outcome = read_outcome(StructuredSource(), files("bomb.xml", bomb))
    assert "aaaaaaaaaa" not in json.dumps(outcome.records)
    assert "root:" not in json.dumps(outcome.records)


def test_malformed_files_are_refused(files):
    assert read_outcome(StructuredSource(), files("bad.json", '{"a": ')).reason == "malformed_json"
    assert (
        read_outcome(StructuredSource(), files("bad.xml", "<a><b></a>")).reason == "malformed_xml"
    )
    assert read_outcome(StructuredSource(), files("blank.jsonl", "\n\n")).reason == "empty_document"
    outcome = read_outcome(StructuredSource(records_path="nope"), files("x.json", "{}"))
    assert outcome.reason == "malformed_json" and "records_path" in outcome.detail


def test_many_bad_rows_are_summed_up(files):
    outcome = read_outcome(
        StructuredSource(), files("bad.jsonl", "{oops\n" * 50 + '{"text": "ok"}\n')
    )
    assert len(outcome.records) == 1
    assert len(outcome.issues) == 21 and "30 more bad rows" in outcome.issues[-1].detail
