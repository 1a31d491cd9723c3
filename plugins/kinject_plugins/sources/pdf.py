"""PDF files with pdfplumber: one Record per page, tables as markdown, scans handed to OCR."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.errors import InputError, MissingDependencyError
from kinject.records import Record
from kinject_plugins.sources.decompression import MAX_UNPACKED_MB, check_pdf_streams
from kinject_plugins.sources.dependencies import require_module
from kinject_plugins.sources.ocr import OcrOptions, check_tesseract, read_image
from kinject_plugins.sources.sections import markdown_table

if TYPE_CHECKING:
    from kinject.context import RunContext

BBox = tuple[float, float, float, float]


class PdfOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: password of encrypted PDFs (without it they are quarantined as ``encrypted``)
    password: str | None = None
    #: PDFs with more pages are refused (reason ``too_many_pages``)
    max_pages: int = Field(default=2000, gt=0)
    #: find tables and write them as markdown tables in reading order
    tables: bool = True
    #: OCR pages without a text layer when Tesseract is installed (options from ``sources.ocr``)
    ocr: bool = True
    #: resolution pages are rendered at for OCR
    ocr_dpi: int = Field(default=300, ge=72, le=600)
    #: a page with fewer characters of text counts as having no text layer
    min_chars: int = Field(default=10, ge=0)
    #: a PDF with a stream that inflates to more is refused as a decompression bomb
    max_unpacked_mb: float = Field(default=MAX_UNPACKED_MB, gt=0)
    #: a PDF at least this big (KiB) is read page-parallel by all ingest workers; null: never
    page_parallel_min_kb: float | None = Field(default=256.0, ge=0)


class PdfSource(Source):
    """PDF files: text in reading order per page, tables as markdown, ``source['page']``."""

    name = "pdf"
    description = "PDF text per page (pdfplumber), tables as markdown, scanned pages through OCR"
    extensions: ClassVar[tuple[str, ...]] = (".pdf",)
    Options = PdfOptions
    opts: PdfOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.ocr_options: OcrOptions | None = None
        self.ocr_missing = "OCR is off (sources.pdf.ocr: false)"

    def setup(self, context: RunContext) -> None:
        require_module("pdfplumber", "pdfplumber", "pdf", "PDF files")
        if not self.opts.ocr:
            return
        ocr = OcrOptions(**context.config.sources.get("ocr", {}))
        try:
            check_tesseract(ocr.lang)
        except MissingDependencyError as exc:
            self.ocr_missing = f"OCR is not available: {exc}"
            return
        self.ocr_options = ocr

    def read(self, uri: str) -> Iterator[Record]:
        return self._read_pages(uri, lambda number: True)

    def parts(self, uri: str, workers: int) -> int:
        """Split a big PDF into one part per worker; its size alone decides (no parse here)."""
        limit = self.opts.page_parallel_min_kb
        try:
            big = limit is not None and os.stat(uri).st_size >= limit * 1024
        except OSError:
            big = False
        return workers if big else 1

    def read_part(self, uri: str, part: int, parts: int) -> Iterator[Record]:
        """Pages ``part + 1``, ``part + 1 + parts``, ...: interleaved, so heavy pages spread out."""
        return self._read_pages(uri, lambda number: (number - 1) % parts == part)

    def _read_pages(self, uri: str, wanted: Callable[[int], bool]) -> Iterator[Record]:
        pdfplumber = require_module("pdfplumber", "pdfplumber", "pdf", "PDF files")
        # pdfminer inflates a stream whole, with no limit, when a page needs it
        check_pdf_streams(uri, self.opts.max_unpacked_mb, "pdf.max_unpacked_mb")
        try:
            pdf = pdfplumber.open(uri, password=self.opts.password or "")
            count = len(pdf.pages)
        except Exception as exc:
            raise self._open_error(exc, uri) from None
        with pdf:
            if count > self.opts.max_pages:
                raise InputError(
                    "too_many_pages",
                    f"{count} pages is over pdf.max_pages={self.opts.max_pages}",
                    uri,
                )
            if count == 0:
                raise InputError("empty_document", "the PDF has no pages", uri)
            title = pdf_title(pdf.metadata)
            for number, page in enumerate(pdf.pages, start=1):
                if not wanted(number):
                    continue
                record = self._page(page, uri, number, count)
                page.close()  # drop the page's parsed objects: long PDFs stay in bounded memory
                if record is not None:
                    if title:
                        record.meta["title"] = title
                    yield record

    def _open_error(self, exc: Exception, uri: str) -> InputError:
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        kind = type(cause).__name__
        if kind == "PDFPasswordIncorrect":
            if self.opts.password:
                return InputError(
                    "wrong_password",
                    "the password in sources.pdf.password does not open this PDF",
                    uri,
                )
            return InputError("encrypted", "the PDF is encrypted; set sources.pdf.password", uri)
        return InputError("malformed_pdf", f"not a readable PDF ({kind}: {cause})", uri)

    def _page(self, page: Any, uri: str, number: int, count: int) -> Record | None:
        where = f"{uri}#page={number}"
        try:
            text, tables = self._page_text(page)
        except Exception as exc:  # one broken page must not lose the others
            self.report_issue("page_error", f"{type(exc).__name__}: {exc}", where)
            return None
        meta: dict[str, Any] = {"pages": count}
        if tables:
            meta["tables"] = tables
        if len(text.strip()) < self.opts.min_chars:
            ocr_text = self._ocr_page(page, where)
            if ocr_text is None:
                return None
            text = ocr_text.text
            meta.update(ocr=True, ocr_confidence=ocr_text.confidence, ocr_words=ocr_text.words)
        return Record(
            text=text.strip(), source={"uri": uri, "page": number}, meta=meta, lineage=[self.name]
        )

    def _page_text(self, page: Any) -> tuple[str, int]:
        """Text above, between and below tables, with each table as markdown in its place."""
        tables = page.find_tables() if self.opts.tables else []
        if not tables:
            return page.extract_text() or "", 0
        boxes = [t.bbox for t in tables]
        body = page.filter(lambda obj: not any(_centre_in(obj, box) for box in boxes))
        x0, top, x1, bottom = page.bbox
        parts: list[str] = []
        rendered = 0
        for table in sorted(tables, key=lambda t: t.bbox[1]):
            parts.append(_region_text(body, (x0, top, x1, table.bbox[1])))
            markdown = markdown_table(table.extract())
            rendered += bool(markdown)  # ruling lines around no text are not a table
            parts.append(markdown)
            top = max(top, table.bbox[3])
        parts.append(_region_text(body, (x0, top, x1, bottom)))
        return "\n\n".join(p for p in parts if p.strip()), rendered

    def _ocr_page(self, page: Any, where: str) -> Any:
        if self.ocr_options is None:
            if page.images:
                detail = f"the page is an image without text; {self.ocr_missing}"
                self.report_issue("no_text_layer", detail, where)
            else:
                self.report_issue("blank_page", "the page has no text", where)
            return None
        width, height = page.width / 72, page.height / 72
        # render at ocr_dpi, lowered so huge pages stay under the image size limit
        dpi = min(
            self.opts.ocr_dpi,
            int((self.ocr_options.max_image_pixels / max(width * height, 1e-6)) ** 0.5),
        )
        image = page.to_image(resolution=max(dpi, 36)).original
        return read_image(image, self.ocr_options, where, self)


def pdf_title(metadata: Any) -> str:
    """The Title of the PDF's document information, unless it is empty or a file name."""
    value = metadata.get("Title") if isinstance(metadata, dict) else None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    title = " ".join(str(value or "").split())
    if (
        not title
        or re.search(r"\.(docx?|pdf|indd|tex|dvi|qxd)$", title, re.I)
        or title.lower().startswith("untitled")
    ):
        return ""
    return title


def _centre_in(obj: dict[str, Any], box: BBox) -> bool:
    if "x0" not in obj or "top" not in obj:
        return False
    x = (obj["x0"] + obj["x1"]) / 2
    y = (obj["top"] + obj["bottom"]) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _region_text(page: Any, box: BBox) -> str:
    if box[3] - box[1] < 1:
        return ""
    return page.crop(box, strict=False).extract_text() or ""
