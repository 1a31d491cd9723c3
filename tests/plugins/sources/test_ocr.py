"""The OCR source: readable scans, blank and unreadable images, bombs and broken files."""

from __future__ import annotations

import pytest
from source_files import needs_tesseract, read_outcome, text_image

from kinject.errors import MissingDependencyError
from kinject_plugins.sources.ocr import OcrSource, check_tesseract

pytestmark = needs_tesseract


def test_scan_is_read_with_confidence(tmp_path):
    path = tmp_path / "scan.png"
    text_image("The appeal deadline\nis 21 days").save(path)
    (record,) = read_outcome(OcrSource(), path).records
    assert "appeal deadline" in record["text"] and "21 days" in record["text"]
    assert record["meta"]["ocr_confidence"] > 60 and record["meta"]["ocr_lang"] == "eng"
    assert record["source"] == {"uri": str(path)}


def test_multipage_tiff_keeps_page_numbers(tmp_path):
    path = tmp_path / "scan.tiff"
    first, second = text_image("First page words"), text_image("Second page words")
    first.save(path, save_all=True, append_images=[second])
    records = read_outcome(OcrSource(), path).records
    assert [r["source"]["page"] for r in records] == [1, 2]
    assert "Second" in records[1]["text"]


def test_blank_and_noise_images_give_no_text(tmp_path):
    import numpy as np
    from PIL import Image

    blank = tmp_path / "blank.png"
    Image.new("RGB", (800, 600), "white").save(blank)
    outcome = read_outcome(OcrSource(), blank)
    assert not outcome.records and outcome.issues[0].reason == "blank_page"
    noise = tmp_path / "noise.png"
    pixels = np.random.default_rng(0).integers(0, 255, (300, 300), dtype=np.uint8)
    Image.fromarray(pixels).save(noise)
    outcome = read_outcome(OcrSource(), noise)
    assert not outcome.records
    assert outcome.issues[0].reason in ("blank_page", "low_confidence")


def test_broken_and_huge_images_are_refused(tmp_path, files):
    good = tmp_path / "good.png"
    text_image("words").save(good)
    data = good.read_bytes()
    assert (
        read_outcome(OcrSource(), files("trunc.png", data[: len(data) // 3])).reason
        == "corrupt_image"
    )
    assert read_outcome(OcrSource(), files("junk.jpg", b"not an image")).reason == "corrupt_image"
    outcome = read_outcome(OcrSource(max_image_pixels=10_000), good)
    assert outcome.reason == "image_too_large" and "max_image_pixels" in outcome.detail


def test_a_missing_language_names_the_apt_package():
    with pytest.raises(MissingDependencyError, match="apt-get install -y tesseract-ocr-chi-sim"):
        check_tesseract("eng+chi_sim")
