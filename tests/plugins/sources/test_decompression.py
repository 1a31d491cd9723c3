"""Compressed inputs are bounded: a PDF stream or a zip package that inflates too far is refused."""

from __future__ import annotations

import time
import zipfile
import zlib
from pathlib import Path

import pytest
from source_files import make_pdf, read_outcome

from kinject.ingest_worker import WorkerPool
from kinject_plugins.sources.decompression import check_zip, inflated_size
from kinject_plugins.sources.docx import DocxSource
from kinject_plugins.sources.pdf import PdfSource

BOMB_MIB = 300  # over the default bound of 256 MiB


def deflated_zeros(mib: int) -> bytes:
    """``mib`` MiB of zero bytes, deflated (about 1 KiB per MiB), without holding them."""
    packer = zlib.compressobj(9)
    zeros = bytes(2**20)
    return b"".join(packer.compress(zeros) for _ in range(mib)) + packer.flush()


def pdf_with_stream(path: Path, content: bytes) -> Path:
    """A one-page PDF whose content stream is ``content`` with ``/Filter /FlateDecode``."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content)
        + content
        + b"\nendstream",
    ]
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path.write_bytes(bytes(out))
    return path


@pytest.fixture(scope="module")
def pdf_bomb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pdf_with_stream(tmp_path_factory.mktemp("bomb") / "bomb.pdf", deflated_zeros(BOMB_MIB))


def test_a_pdf_stream_bomb_is_refused_in_bounded_time_and_memory(pdf_bomb):
    assert pdf_bomb.stat().st_size < 400 * 1024
    pool = WorkerPool(workers=1, timeout_s=120)
    start = time.perf_counter()
    (outcome,) = pool.run(
        iter([(0, PdfSource(ocr=False), str(pdf_bomb))]), can_submit=lambda _: True
    )
    assert outcome.reason == "decompression_bomb", outcome
    assert "pdf.max_unpacked_mb" in outcome.detail
    assert time.perf_counter() - start < 60
    # inflating the stream whole would take the worker past BOMB_MIB of resident memory
    assert 0 < outcome.peak_rss_mb < BOMB_MIB / 2


def test_a_pdf_under_the_bound_still_reads(tmp_path):
    small = pdf_with_stream(
        tmp_path / "ok.pdf", zlib.compress(b"BT /F1 12 Tf 72 720 Td (x) Tj ET\n" + b" " * 2**20)
    )
    assert (
        read_outcome(PdfSource(ocr=False, max_unpacked_mb=2), small).reason != "decompression_bomb"
    )
    text = make_pdf(tmp_path / "text.pdf", ["Appeals are heard within 21 days."])
    records = read_outcome(PdfSource(ocr=False, max_unpacked_mb=1), text).records
    assert "21 days" in records[0]["text"]
    refused = read_outcome(PdfSource(ocr=False, max_unpacked_mb=0.5), small)
    assert refused.reason == "decompression_bomb"


def test_inflated_size_is_counted_only_up_to_the_limit():
    assert inflated_size(zlib.compress(bytes(5000)), 10**6) == 5000
    assert 1000 < inflated_size(deflated_zeros(64), 2**20) <= 2**20 + 2**20
    assert inflated_size(b"\xff\xd8 a JPEG, not deflated", 100) == 0
    truncated = zlib.compress(bytes(10**6))[:200]
    assert 0 < inflated_size(truncated, 10**7) < 10**6


def test_zip_packages_share_the_bound(tmp_path):
    package = tmp_path / "big.docx"
    with zipfile.ZipFile(package, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/document.xml", bytes(3 * 2**20))
    with pytest.raises(Exception, match="unpacks to 3 MiB, over docx.max_unpacked_mb=2"):
        check_zip(str(package), 2, "docx.max_unpacked_mb")
    assert read_outcome(DocxSource(max_unpacked_mb=2), package).reason == "decompression_bomb"
