"""``exact-dedup``: drop Records whose normalised content was already seen."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict

from kinject.components import Cleaner
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.normalize import TEXT_META_FIELDS

_SPACE = re.compile(r"\s+")


class ExactDedupOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: compare case-insensitively ("The Court" == "the court")
    casefold: bool = True
    #: ignore all whitespace differences
    collapse_whitespace: bool = True


def content_key(record: Record, casefold: bool = True, collapse_whitespace: bool = True) -> int:
    """A 64-bit hash of the Record's kind and normalised text (and QA/preference fields)."""
    parts = [record.kind, record.text, *(str(record.meta.get(k, "")) for k in TEXT_META_FIELDS)]
    h = hashlib.blake2b(digest_size=8)
    for part in parts:
        part = unicodedata.normalize("NFKC", part)
        if casefold:
            part = part.casefold()
        if collapse_whitespace:
            part = _SPACE.sub(" ", part).strip()
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return int.from_bytes(h.digest(), "big")


class ExactDedup(Cleaner):
    """Keeps the first Record with a given content hash; later copies are ``exact_duplicate``.

    Streams: memory holds one 64-bit hash and the survivor's id per distinct Record.
    """

    name = "exact-dedup"
    description = "drop exact duplicates (hash of the normalised text), first seen survives"
    Options = ExactDedupOptions
    opts: ExactDedupOptions

    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        seen: dict[int, str] = {}
        for record in records:
            key = content_key(record, self.opts.casefold, self.opts.collapse_whitespace)
            first = seen.get(key)
            if first is None:
                seen[key] = record.id
                yield record
            else:
                yield Rejected(
                    record, "exact_duplicate", plugin=self.name, detail=f"duplicate of {first}"
                )
