"""Structured files (JSON, JSONL, CSV/TSV, XML): one Record per row, with a field mapping.

``text_fields`` name the fields whose values become the text, ``meta_fields`` those kept in
``meta`` (default: every other scalar field). A row with ``kind: qa`` (``kind_field``) becomes a
QA Record with ``meta['question']``/``meta['answer']``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.errors import InputError
from kinject.records import RECORD_KINDS, Record
from kinject_plugins.sources.text import decode_text

_SCALARS = (str, int, float, bool)
#: row problems reported one by one before they are summed up in a single entry
_MAX_ROW_ISSUES = 20


class StructuredOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: fields joined (blank line between) into the Record text; the ones a row has are used
    text_fields: list[str] = Field(default_factory=lambda: ["text", "content", "body"])
    #: fields kept in meta; None keeps every other scalar field
    meta_fields: list[str] | None = None
    #: ``auto`` reads each row's ``kind_field``; ``document``/``qa`` force one kind
    kind: Literal["auto", "document", "qa"] = "auto"
    kind_field: str = "kind"
    question_field: str = "question"
    answer_field: str = "answer"
    #: a field whose value identifies a row; kept as ``source['key']``
    id_field: str | None = None
    #: dotted path to the list of rows inside a JSON document (``data.items``)
    records_path: str | None = None
    #: CSV delimiter (default: ``,`` for .csv, tab for .tsv)
    delimiter: str | None = None
    #: XML element name of one row (default: the children of the root element)
    xml_row_tag: str | None = None
    encodings: list[str] = Field(default_factory=lambda: ["utf-8"])


class StructuredSource(Source):
    """JSON, JSONL, CSV, TSV and XML files, one Record per row."""

    name = "structured"
    description = "JSON, JSONL, CSV/TSV and XML rows with a field mapping (text, meta, QA rows)"
    extensions: ClassVar[tuple[str, ...]] = (".json", ".jsonl", ".ndjson", ".csv", ".tsv", ".xml")
    Options = StructuredOptions
    opts: StructuredOptions

    def read(self, uri: str) -> Iterator[Record]:
        suffix = Path(uri).suffix.lower()
        data = Path(uri).read_bytes()
        rows = {
            ".json": self._json_rows,
            ".jsonl": self._jsonl_rows,
            ".ndjson": self._jsonl_rows,
            ".csv": self._csv_rows,
            ".tsv": self._csv_rows,
            ".xml": self._xml_rows,
        }[suffix](data, uri)
        problems = 0
        produced = 0
        for number, row in rows:
            try:
                record = self._record(row, uri, number)
            except ValueError as exc:
                problems += 1
                if problems <= _MAX_ROW_ISSUES:
                    reason = "missing_text" if "no text" in str(exc) else "malformed_row"
                    self.report_issue(reason, str(exc), f"{uri}#row={number}")
                continue
            produced += 1
            yield record
        if problems > _MAX_ROW_ISSUES:
            detail = f"{problems - _MAX_ROW_ISSUES} more bad rows not listed"
            self.report_issue("malformed_row", detail, uri)
        if not produced and not problems:
            raise InputError("empty_document", "the file holds no rows", uri)

    # -- rows of each format, as (row number, mapping or a ValueError to report) ----------------

    def _json_rows(self, data: bytes, uri: str) -> Iterator[tuple[int, Any]]:
        try:
            doc = json.loads(decode_text(data, self.opts.encodings, uri))
        except json.JSONDecodeError as exc:
            raise InputError(
                "malformed_json", f"invalid JSON at line {exc.lineno}: {exc.msg}", uri
            ) from None
        for key in (self.opts.records_path or "").split(".") if self.opts.records_path else []:
            if not isinstance(doc, dict) or key not in doc:
                raise InputError(
                    "malformed_json", f"records_path {self.opts.records_path!r} not found", uri
                )
            doc = doc[key]
        rows = doc if isinstance(doc, list) else [doc]
        yield from enumerate(rows, start=1)

    def _jsonl_rows(self, data: bytes, uri: str) -> Iterator[tuple[int, Any]]:
        text = decode_text(data, self.opts.encodings, uri)
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, ValueError(f"invalid JSON: {exc.msg}")

    def _csv_rows(self, data: bytes, uri: str) -> Iterator[tuple[int, Any]]:
        text = decode_text(data, self.opts.encodings, uri)
        delimiter = self.opts.delimiter or ("\t" if uri.lower().endswith(".tsv") else ",")
        reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
        try:
            header = reader.fieldnames or []
            if self.opts.kind != "qa" and header and not set(self.opts.text_fields) & set(header):
                fields = ", ".join(self.opts.text_fields)
                raise InputError(
                    "missing_text",
                    f"no column named {fields}; columns: {', '.join(header)} (set text_fields)",
                    uri,
                )
            for number, row in enumerate(reader, start=1):
                if None in row:
                    yield number, ValueError(f"{len(row[None])} more cells than header columns")  # type: ignore[index]
                else:
                    yield number, row
        except csv.Error as exc:
            raise InputError("malformed_csv", f"line {reader.line_num}: {exc}", uri) from None

    def _xml_rows(self, data: bytes, uri: str) -> Iterator[tuple[int, Any]]:
        from lxml import etree

        # no entity expansion, no DTD, no network: XML bombs and XXE stay inert
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
        )
        try:
            root = etree.fromstring(data, parser=parser)
        except etree.XMLSyntaxError as exc:
            raise InputError("malformed_xml", f"invalid XML: {exc}", uri) from None
        tag = self.opts.xml_row_tag
        elements = root.iter(tag) if tag else (e for e in root if isinstance(e.tag, str))
        for number, element in enumerate(elements, start=1):
            yield number, _xml_fields(element)

    # -- one row -> one Record ------------------------------------------------------------------

    def _record(self, row: Any, uri: str, number: int) -> Record:
        if isinstance(row, ValueError):
            raise row
        if not isinstance(row, dict):
            raise ValueError(f"a row must be an object with fields, got {type(row).__name__}")
        kind = (
            self.opts.kind
            if self.opts.kind != "auto"
            else str(row.get(self.opts.kind_field) or "document")
        )
        source: dict[str, Any] = {"uri": uri, "row": number}
        if self.opts.id_field and row.get(self.opts.id_field) not in (None, ""):
            source["key"] = str(row[self.opts.id_field])
        used = {self.opts.kind_field, self.opts.id_field}
        meta: dict[str, Any]
        if kind not in RECORD_KINDS:
            raise ValueError(f"unknown kind {kind!r} (one of {', '.join(RECORD_KINDS)})")
        if kind == "preference":
            meta, text = _preference(row)
            used |= set(meta)
        elif kind == "qa":
            question, answer = (
                _text(row.get(f)) for f in (self.opts.question_field, self.opts.answer_field)
            )
            if not question or not answer:
                raise ValueError(
                    f"a qa row needs {self.opts.question_field!r} and {self.opts.answer_field!r}"
                )
            meta = {"question": question, "answer": answer}
            used |= {self.opts.question_field, self.opts.answer_field}
            text = f"{question}\n{answer}"
        else:
            parts = [_text(row.get(f)) for f in self.opts.text_fields]
            text = "\n\n".join(p for p in parts if p)
            if not text:
                raise ValueError(f"no text in fields {', '.join(self.opts.text_fields)}")
            meta = {}
            used |= set(self.opts.text_fields)
        meta.update(self._meta(row, used))
        return Record(text=text, kind=kind, source=source, meta=meta, lineage=[self.name])

    def _meta(self, row: dict[str, Any], used: set[str | None]) -> dict[str, Any]:
        if self.opts.meta_fields is not None:
            return {f: row[f] for f in self.opts.meta_fields if f in row}
        return {
            k: v for k, v in row.items() if k not in used and isinstance(v, _SCALARS) and v != ""
        }


def _preference(row: dict[str, Any]) -> tuple[dict[str, Any], str]:
    meta = {f: _text(row.get(f)) for f in ("prompt", "chosen", "rejected")}
    if not all(meta.values()):
        raise ValueError("a preference row needs 'prompt', 'chosen' and 'rejected'")
    return meta, meta["prompt"]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_text(v) for v in value if _text(v))
    return str(value).strip()


def _xml_fields(element: Any) -> dict[str, Any]:
    """An XML row as a mapping: attributes, then child elements by local name (their text)."""
    fields: dict[str, Any] = {_local(k): v for k, v in element.attrib.items()}
    children = [c for c in element if isinstance(c.tag, str)]
    for child in children:
        fields[_local(child.tag)] = " ".join("".join(child.itertext()).split())
    if not children and (element.text or "").strip():
        fields["text"] = element.text.strip()
    return fields


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]
