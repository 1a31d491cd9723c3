"""The docx source: paragraphs, headings and tables in order; broken packages refused."""

from __future__ import annotations

import zipfile

from source_files import read_outcome

from kinject_plugins.sources.docx import DocxSource


def make_docx(path):
    import docx

    document = docx.Document()
    document.core_properties.title = "Lease terms"
    document.add_heading("Notice", level=1)
    document.add_paragraph("Tenants give 45 days notice.")
    table = document.add_table(rows=2, cols=2)
    for row, values in zip(table.rows, [("Term", "Days"), ("Appeal", "21")], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
    document.add_paragraph("Landlords give 60 days.", style="List Bullet")
    document.save(path)
    return path


def test_paragraphs_headings_and_tables(tmp_path):
    (record,) = read_outcome(DocxSource(), make_docx(tmp_path / "lease.docx")).records
    assert record["text"] == (
        "# Notice\n\nTenants give 45 days notice.\n\n| Term | Days |\n| --- | --- |\n| Appeal | "
        "21 |"
        "\n\n- Landlords give 60 days."
    )
    assert record["meta"] == {"format": "docx", "title": "Lease terms", "section": "Notice"}


def test_broken_encrypted_and_bomb_packages(tmp_path, files):
    source = DocxSource()
    assert (
        read_outcome(source, files("junk.docx", b"PK\x03\x04 not really")).reason == "corrupt_docx"
    )
    assert (
        read_outcome(
            source, files("old.docx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
        ).reason
        == "encrypted"
    )
    good = make_docx(tmp_path / "good.docx").read_bytes()
    assert (
        read_outcome(source, files("trunc.docx", good[: len(good) // 2])).reason == "corrupt_docx"
    )
    bomb = tmp_path / "bomb.docx"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", b"\0" * (3 * 2**20))
    outcome = read_outcome(DocxSource(max_unpacked_mb=1), bomb)
    assert outcome.reason == "decompression_bomb"
    not_word = tmp_path / "other.docx"
    with zipfile.ZipFile(not_word, "w") as z:
        z.writestr("hello.txt", "hi")
    assert read_outcome(source, not_word).reason == "corrupt_docx"
