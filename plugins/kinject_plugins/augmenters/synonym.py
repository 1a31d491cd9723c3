"""``synonym``: copies of documents with domain terms swapped for their synonyms.

A term and its synonyms (from the term list) form a group; each occurrence of a group member may
be replaced by another member. Numbers, dates, citations and names are never touched: their
spans are protected, and a Latin-script term only matches as a whole word.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Augmenter
from kinject.domains import Term
from kinject.records import Record
from kinject_plugins.augmenters.facts import extract_values
from kinject_plugins.augmenters.ordering import order_key, positions
from kinject_plugins.augmenters.term_qa import load_term_list

if TYPE_CHECKING:
    from kinject.context import RunContext

PLUGIN = "synonym"
_CJK = re.compile(r"[\u4e00-\u9fff]")


class SynonymOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: synonym-swapped copies per document
    k: int = 1
    #: chance that each occurrence is swapped
    probability: float = Field(1.0, ge=0.0, le=1.0)
    terms_file: str | None = None
    kinds: list[str] = ["document", "passage"]


def synonym_groups(terms: Sequence[Term]) -> dict[str, list[str]]:
    """Each surface form -> the other forms it may be replaced with."""
    groups: dict[str, list[str]] = {}
    for term in terms:
        members = [term.term, *term.synonyms]
        for member in members:
            others = [m for m in members if m != member]
            if others:
                groups.setdefault(member, []).extend(
                    o for o in others if o not in groups.get(member, [])
                )
    return groups


def swap_synonyms(
    text: str, groups: dict[str, list[str]], rng: random.Random, probability: float = 1.0
) -> tuple[str, int]:
    """``text`` with term occurrences swapped (outside protected spans) and the swap count."""
    protected = [(v.start, v.end) for v in extract_values(text)]
    taken: list[tuple[int, int, str]] = []
    for member in sorted(groups, key=len, reverse=True):
        pattern = (
            re.escape(member) if _CJK.search(member) else rf"(?<![\w-]){re.escape(member)}(?![\w-])"
        )
        for match in re.finditer(pattern, text, flags=0 if _CJK.search(member) else re.IGNORECASE):
            span = (match.start(), match.end())
            if any(
                s < span[1] and span[0] < e for s, e in protected + [(a, b) for a, b, _ in taken]
            ):
                continue
            if rng.random() < probability:
                taken.append((*span, _match_case(match.group(0), rng.choice(groups[member]))))
    for start, end, replacement in sorted(taken, reverse=True):
        text = text[:start] + replacement + text[end:]
    return text, len(taken)


def _match_case(original: str, replacement: str) -> str:
    if original[:1].isupper() and replacement[:1].islower():
        return replacement[:1].upper() + replacement[1:]
    return replacement


class Synonym(Augmenter):
    """Term-list synonym replacement, never inside numbers, citations or names."""

    name = PLUGIN
    description = "copies of documents with domain terms swapped for synonyms"
    Options: ClassVar[type[SynonymOptions]] = SynonymOptions
    opts: SynonymOptions
    #: each copy depends on its record, the seed and the record's place in the input only
    per_document = True

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.groups: dict[str, list[str]] = {}

    def setup(self, context: RunContext) -> None:
        self.groups = synonym_groups(load_term_list(context, self.opts.terms_file))

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        where = positions(records)
        changed = swaps = 0
        for record in records:
            if record.kind not in self.opts.kinds or not self.groups:
                continue
            rng = random.Random(f"{self.seed}:{record.id}")
            seen = {record.text}
            for _ in range(self.opts.k):
                text, n = swap_synonyms(record.text, self.groups, rng, self.opts.probability)
                if n and text not in seen:
                    seen.add(text)
                    changed += 1
                    swaps += n
                    place = self.input_offset + where[record.id]
                    order = order_key(place, len(records), "interleave", step=0.3)
                    yield record.derive(text, PLUGIN, meta={"synonym_swaps": n, "order": order})
        # counts that add up over groups of documents; the term list's size is the same in each
        self.stats = {
            "records_written": changed,
            "swaps": swaps,
            "term_list": f"{len(self.groups)} terms with synonyms",
        }
