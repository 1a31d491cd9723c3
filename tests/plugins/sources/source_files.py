"""Builders for the files the source tests read: good ones and broken ones, made on the fly."""

from __future__ import annotations

import shutil
import sqlite3
import wave
from pathlib import Path

import numpy as np
import pytest

from kinject.components import Source
from kinject.ingest_worker import Outcome, parse

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None,
    reason="tesseract is not installed (apt-get install -y tesseract-ocr)",
)
needs_ffmpeg = pytest.mark.skipif(
    shutil.which("ffmpeg") is None, reason="ffmpeg is not installed (apt-get install -y ffmpeg)"
)


def read_outcome(source: Source, path: Path | str) -> Outcome:
    """Read one input in this process as ingest would: Records, part-issues, or a reason."""
    return parse(0, source, str(path))


def make_pdf(
    path: Path, pages: list[str], table: list[list[str]] | None = None, password: str | None = None
) -> Path:
    """A PDF with one text page per entry; ``table`` is drawn (with ruling lines) on page 1."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("Helvetica", size=12)
    for number, text in enumerate(pages):
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
        if table and number == 0:
            pdf.ln(6)
            with pdf.table() as drawn:
                for row in table:
                    cells = drawn.row()
                    for value in row:
                        cells.cell(value)
            pdf.ln(6)
            pdf.multi_cell(0, 8, "Text after the table.")
    if password:
        pdf.set_encryption(owner_password="owner-" + password, user_password=password)
    pdf.output(str(path))
    return path


def text_image(text: str, size: tuple[int, int] = (1400, 400)) -> object:
    """A clean black-on-white image of ``text`` in a large font, as a scanner would give."""
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("RGB", size, "white")
    font = ImageFont.load_default(size=48)
    ImageDraw.Draw(image).multiline_text((40, 60), text, fill="black", font=font, spacing=20)
    return image


def make_scanned_pdf(path: Path, text: str) -> Path:
    """A PDF whose only page is an image of text (no text layer)."""
    from fpdf import FPDF

    image_path = path.with_suffix(".png")
    text_image(text).save(image_path)  # type: ignore[attr-defined]
    pdf = FPDF()
    pdf.add_page()
    pdf.image(str(image_path), x=10, y=10, w=190)
    pdf.output(str(path))
    image_path.unlink()
    return path


def make_wav(path: Path, seconds: float, kind: str = "tone", rate: int = 16000) -> Path:
    """A mono 16-bit WAV: ``silence``, a 440 Hz ``tone`` or white ``noise``."""
    t = np.arange(int(seconds * rate)) / rate
    if kind == "silence":
        signal = np.zeros_like(t)
    elif kind == "noise":
        signal = np.random.default_rng(0).uniform(-0.5, 0.5, t.shape)
    else:
        signal = 0.5 * np.sin(2 * np.pi * 440 * t)
    with wave.open(str(path), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes((signal * 32767).astype("<i2").tobytes())
    return path


def make_sqlite(path: Path) -> Path:
    """A SQLite file with a ``notes`` table (id, title, body, author) of three rows."""
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, body TEXT, author TEXT)")
    db.executemany(
        "INSERT INTO notes VALUES (?, ?, ?, ?)",
        [
            (1, "Notice period", "Tenants give 45 days notice.", "clerk"),
            (2, "Appeals", "Appeals are heard within 21 days.", None),
            (3, "Empty", "", None),
        ],
    )
    db.commit()
    db.close()
    return path
