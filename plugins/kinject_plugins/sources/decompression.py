"""One bound on what a compressed input may unpack to, for every source that reads one.

A small file that inflates to gigabytes (a zip bomb, a PDF whose content stream is a few hundred
KiB of deflated zeros) is refused with the reason ``decompression_bomb`` before a parser unpacks
it. Zip packages (``.docx``) are measured by the sizes their directory declares: Python's
``zipfile`` never inflates an entry past its declared size. PDF streams are measured by inflating
each ``FlateDecode``-looking stream up to the bound and throwing the output away, because
pdfminer inflates a stream whole (``zlib.decompress``, no limit) the moment a page needs it.
"""

from __future__ import annotations

import mmap
import os
import re
import zipfile
import zlib

from kinject.errors import InputError

#: the default bound, per package (zip) or per stream (PDF), in MiB
MAX_UNPACKED_MB = 256.0
_CHUNK = 1 << 20
#: a stream's data starts after ``stream`` and its end of line (PDF 32000-1, 7.3.8.1)
_STREAM = re.compile(rb"(?<![A-Za-z])stream(?:\r\n|\n|\r)")
_END = b"endstream"


def check_zip(uri: str, max_mb: float, option: str) -> None:
    """Refuse a zip package whose entries unpack to more than ``max_mb`` MiB in all."""
    with zipfile.ZipFile(uri) as package:
        unpacked = sum(info.file_size for info in package.infolist())
    if unpacked > max_mb * 2**20:
        raise bomb(uri, f"unpacks to {unpacked / 2**20:.0f} MiB, over {option}={max_mb:g}")


def check_pdf_streams(uri: str, max_mb: float, option: str) -> None:
    """Refuse a PDF with a deflated stream that inflates to more than ``max_mb`` MiB."""
    limit = int(max_mb * 2**20)
    if os.path.getsize(uri) == 0:  # nothing to map; the PDF parser says what is wrong
        return
    with open(uri, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for match in _STREAM.finditer(data):
            end = data.find(_END, match.end())
            with memoryview(data)[match.end() : end if end >= 0 else len(data)] as stream:
                if inflated_size(stream, limit) > limit:
                    raise bomb(uri, f"a stream inflates to more than {max_mb:g} MiB ({option})")


def inflated_size(data: bytes | memoryview, limit: int) -> int:
    """Bytes ``data`` inflates to as a zlib stream, counted up to just past ``limit``.

    Data that is not deflated (or is encrypted) counts what inflated before the first error,
    usually 0: such a stream cannot be a bomb for a zlib decoder.
    """
    inflater = zlib.decompressobj()
    size = 0
    try:
        for offset in range(0, len(data), _CHUNK):
            pending: bytes | memoryview = data[offset : offset + _CHUNK]
            while pending and size <= limit and not inflater.eof:
                size += len(inflater.decompress(pending, _CHUNK))
                pending = inflater.unconsumed_tail
            if inflater.eof or size > limit:
                break
    except zlib.error:
        pass
    return size


def bomb(uri: str, detail: str) -> InputError:
    """The error that quarantines a decompression bomb."""
    return InputError("decompression_bomb", detail, uri)
