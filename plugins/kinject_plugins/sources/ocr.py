"""Scanned pages and photos of text (PNG, JPEG, TIFF) read with Tesseract.

Blank pages and pages Tesseract cannot read with confidence are reported (``blank_page``,
``low_confidence``) instead of being turned into garbage text. The PDF source hands its pages
without a text layer to :func:`read_image` with the same options.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Source
from kinject.errors import InputError
from kinject.records import Record
from kinject_plugins.sources.dependencies import (
    MissingProgramError,
    require_module,
    require_program,
)

if TYPE_CHECKING:
    from PIL.Image import Image

    from kinject.context import RunContext

#: apt packages of Tesseract languages, e.g. ``chi_sim`` -> ``tesseract-ocr-chi-sim``
_APT_LANG = "tesseract-ocr-{}"


class OcrOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: Tesseract languages joined by ``+`` (``eng``, ``chi_sim``, ``eng+deu``)
    lang: str = "eng"
    #: pages whose mean word confidence (0-100) is lower are reported, not kept
    min_confidence: float = Field(default=50.0, ge=0, le=100)
    #: Tesseract page segmentation mode (3 = automatic layout)
    psm: int = Field(default=3, ge=0, le=13)
    #: images with more pixels are refused (decompression bombs, absurd scans)
    max_image_pixels: int = Field(default=60_000_000, gt=0)
    #: frames read from a multi-page TIFF at most
    max_pages: int = Field(default=500, gt=0)


@dataclass
class OcrText:
    """Text Tesseract found on one image and its mean word confidence (0-100)."""

    text: str
    confidence: float
    words: int


def check_tesseract(lang: str) -> None:
    """Raise a MissingDependencyError when pytesseract, tesseract or a language is missing."""
    require_module("pytesseract", "pytesseract", "ocr", "OCR")
    require_program("tesseract", "tesseract-ocr", "OCR")
    import pytesseract

    installed = set(pytesseract.get_languages(config=""))
    for code in lang.split("+"):
        if code not in installed:
            apt = _APT_LANG.format(code.replace("_", "-").lower())
            raise MissingProgramError(f"tesseract language data '{code}'", apt, "OCR")


def ocr_image(image: Image, opts: OcrOptions) -> OcrText:
    """OCR one image: lines in reading order, paragraphs separated by blank lines."""
    import pytesseract

    gray = image.convert("L")
    data = pytesseract.image_to_data(
        gray, lang=opts.lang, config=f"--psm {opts.psm}", output_type=pytesseract.Output.DICT
    )
    lines: dict[tuple[int, int, int], list[str]] = {}
    confidences: list[float] = []
    for i, word in enumerate(data["text"]):
        conf = float(data["conf"][i])
        if conf < 0 or not word.strip():
            continue
        key = (data["block_num"][i], data["par_num"][i], data["line_num"][i])
        lines.setdefault(key, []).append(word.strip())
        confidences.append(conf)
    paragraphs: dict[tuple[int, int], list[str]] = {}
    for (block, par, _), words in lines.items():
        paragraphs.setdefault((block, par), []).append(" ".join(words))
    text = "\n\n".join("\n".join(p) for p in paragraphs.values())
    mean = sum(confidences) / len(confidences) if confidences else 0.0
    return OcrText(text=text, confidence=round(mean, 1), words=len(confidences))


def is_blank(image: Image) -> bool:
    """A page with (almost) no ink: nothing to read, no need to run Tesseract."""
    from PIL import ImageStat

    gray = image.convert("L")
    gray.thumbnail((512, 512))
    return ImageStat.Stat(gray).stddev[0] < 2.0


def read_image(image: Image, opts: OcrOptions, where: str, source: Source) -> OcrText | None:
    """OCR an image, or report through ``source`` why it yields no text (``blank_page``,
    ``low_confidence``)."""
    if is_blank(image):
        source.report_issue("blank_page", "the page is blank", where)
        return None
    result = ocr_image(image, opts)
    if not result.words:
        source.report_issue("blank_page", "no text found on the page", where)
        return None
    if result.confidence < opts.min_confidence:
        detail = (
            f"mean OCR confidence {result.confidence:.0f} is below {opts.min_confidence:g} "
            "(ocr.min_confidence)"
        )
        source.report_issue("low_confidence", detail, where)
        return None
    return result


class OcrSource(Source):
    """Images of text: one Record per image (per frame of a multi-page TIFF)."""

    name = "ocr"
    description = "scans and photos (png, jpg, tiff) read with Tesseract; confidence in meta"
    extensions: ClassVar[tuple[str, ...]] = (
        ".png",
        ".jpg",
        ".jpeg",
        ".tif",
        ".tiff",
        ".bmp",
        ".webp",
    )
    Options = OcrOptions
    opts: OcrOptions

    def setup(self, context: RunContext) -> None:
        check_tesseract(self.opts.lang)

    def read(self, uri: str) -> Iterator[Record]:
        from PIL import Image

        # Pillow's guard is process-wide: set our limit only while this file is decoded
        previous, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, self.opts.max_image_pixels
        try:
            records = self._read_frames(uri)
        finally:
            Image.MAX_IMAGE_PIXELS = previous
        yield from records

    def _read_frames(self, uri: str) -> list[Record]:
        from PIL import Image, ImageSequence

        records: list[Record] = []
        try:
            with Image.open(uri) as image:
                self._check_size(image, uri)
                frames = getattr(image, "n_frames", 1)
                for number, frame in enumerate(ImageSequence.Iterator(image), start=1):
                    if number > self.opts.max_pages:
                        detail = f"only the first {self.opts.max_pages} frames are read"
                        self.report_issue("too_many_pages", detail, uri)
                        break
                    records += self._frame(frame, uri, number if frames > 1 else 0)
        except Image.DecompressionBombError as exc:
            detail = f"{exc} (limit: ocr.max_image_pixels={self.opts.max_image_pixels})"
            raise InputError("image_too_large", detail, uri) from None
        except (Image.UnidentifiedImageError, OSError, SyntaxError) as exc:
            raise InputError("corrupt_image", f"cannot decode the image: {exc}", uri) from None
        return records

    def _check_size(self, image: Image, uri: str) -> None:
        width, height = image.size
        if width * height > self.opts.max_image_pixels:
            detail = (
                f"{width}x{height} pixels is over ocr.max_image_pixels={self.opts.max_image_pixels}"
            )
            raise InputError("image_too_large", detail, uri)

    def _frame(self, frame: Image, uri: str, page: int) -> Iterator[Record]:
        frame.load()  # decode now so a truncated file fails here, named, not inside Tesseract
        where = f"{uri}#page={page}" if page else uri
        result = read_image(frame, self.opts, where, self)
        if result is None:
            return
        source: dict[str, Any] = {"uri": uri, **({"page": page} if page else {})}
        meta = {
            "ocr_confidence": result.confidence,
            "ocr_words": result.words,
            "ocr_lang": self.opts.lang,
        }
        yield Record(text=result.text, source=source, meta=meta, lineage=[self.name])
