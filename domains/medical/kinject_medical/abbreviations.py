"""The ``abbrev-expand`` cleaner: spells out clinical abbreviations from the term list.

``400 mg bid`` and ``400 mg twice daily`` say the same thing, but a small model learns one fact
from two spellings more slowly, and error-prone abbreviations (``qd``, ``qod``) are a known
source of dosing mistakes. The cleaner writes ``twice daily (bid)``: the expansion first, the
abbreviation kept in brackets so questions that use it still match.

Abbreviations come from the domain's term list (entries with ``meta.category: abbreviation`` and
``meta.expansion``); units (``meta.unit: true``, e.g. mg, mL) are never expanded. Lower-case
abbreviations also match their upper-case and dotted forms (``bid``, ``BID``, ``b.i.d.``);
upper- or mixed-case ones (``PRN``, ``eGFR``) match exactly. The original text and every
expansion with its offset are kept in ``meta["abbrev_expand"]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from kinject.components import RecordCleaner
from kinject.domains import DomainPack, Term
from kinject.records import Record, Rejected

if TYPE_CHECKING:
    from kinject.context import RunContext

PACK_TERMS = Path(__file__).parent / "terms.yaml"


@dataclass(frozen=True)
class Abbreviation:
    """One abbreviation and what it stands for."""

    abbr: str
    expansion: str


def abbreviations_from_terms(
    terms: list[Term], exclude: set[str] | None = None
) -> list[Abbreviation]:
    """Abbreviation entries of a term list, skipping units and ``exclude``."""
    exclude = exclude or set()
    found: dict[str, Abbreviation] = {}
    for term in terms:
        meta = term.meta or {}
        expansion = str(meta.get("expansion") or "")
        if meta.get("category") != "abbreviation" or not expansion or meta.get("unit"):
            continue
        if term.term in exclude or term.term.lower() in exclude:
            continue
        found.setdefault(term.term, Abbreviation(term.term, expansion))
    return list(found.values())


def _abbr_pattern(abbr: str) -> str:
    if abbr.isalpha() and abbr.islower():
        # "b.i.d." keeps its final dot; plain "bid." does not swallow a sentence's full stop
        dotted = r"\.".join(re.escape(ch) for ch in abbr) + r"\.?"
        if len(abbr) < 3:
            # upper-case two-letter forms are mostly something else ("Pepcid AC", initials)
            return f"(?:{dotted}|{re.escape(abbr)})"
        return f"(?i:{dotted}|{re.escape(abbr)})"
    return re.escape(abbr)


_LOCAL_DEFINITION = re.compile(r"((?:[A-Za-z-]+\s+){1,5})\((\w+)\)")


def locally_defined(text: str, abbreviations: dict[str, Abbreviation]) -> set[str]:
    """Abbreviations the text itself defines with another meaning.

    ``pulmonary rehabilitation (PR)`` makes every ``PR`` in that text mean something other than
    *per rectum*, so none of them is expanded.
    """
    redefined: set[str] = set()
    for match in _LOCAL_DEFINITION.finditer(text):
        words, abbr = match.group(1).lower(), match.group(2)
        known = abbreviations.get(abbr) or abbreviations.get(abbr.lower())
        if known is not None and not words.rstrip().endswith(known.expansion.lower()):
            redefined.add(abbr)
    return redefined


def build_pattern(abbreviations: list[Abbreviation]) -> re.Pattern[str] | None:
    """One alternation over all abbreviations, longest first, on whole-word boundaries."""
    if not abbreviations:
        return None
    ordered = sorted(abbreviations, key=lambda a: len(a.abbr), reverse=True)
    alternation = "|".join(f"(?P<a{i}>{_abbr_pattern(a.abbr)})" for i, a in enumerate(ordered))
    return re.compile(rf"(?<![\w.\-/])(?:{alternation})(?![\w\-/])")


class AbbreviationExpander(RecordCleaner):
    """Write ``expansion (abbr)`` for each clinical abbreviation found in the term list."""

    name: ClassVar[str] = "abbrev-expand"
    description: ClassVar[str] = "expand clinical abbreviations (bid -> twice daily (bid))"

    class Options(BaseModel):
        model_config = ConfigDict(extra="forbid")
        #: a term list YAML to read instead of the run's domain (or this pack's) term list
        terms: str | None = None
        #: abbreviations never to expand (e.g. ``PE`` in a corpus about physical education)
        exclude: list[str] = []

    opts: Options

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        path = Path(self.opts.terms) if self.opts.terms else PACK_TERMS
        self.use_terms(_load_terms(path))

    def setup(self, context: RunContext) -> None:
        # an explicit file wins; otherwise prefer the run's domain terms when they have any
        if self.opts.terms or context.domain is None:
            return
        domain_abbrs = abbreviations_from_terms(context.domain.load_terms(), set(self.opts.exclude))
        if domain_abbrs:
            self._set(domain_abbrs)

    def use_terms(self, terms: list[Term]) -> None:
        """Replace the abbreviation table with the entries of ``terms``."""
        self._set(abbreviations_from_terms(terms, set(self.opts.exclude)))

    def _set(self, abbreviations: list[Abbreviation]) -> None:
        ordered = sorted(abbreviations, key=lambda a: len(a.abbr), reverse=True)
        self._by_group = {f"a{i}": a for i, a in enumerate(ordered)}
        self._by_abbr = {a.abbr: a for a in ordered}
        self._pattern = build_pattern(abbreviations)

    def expand(self, text: str) -> tuple[str, list[dict[str, Any]]]:
        """The expanded text and a list of ``{abbr, expansion, offset}`` (offsets in ``text``)."""
        if self._pattern is None:
            return text, []
        done: list[dict[str, Any]] = []
        parts: list[str] = []
        last = 0
        redefined = locally_defined(text, self._by_abbr)
        for match in self._pattern.finditer(text):
            abbr = self._by_group[str(match.lastgroup)]
            if match.group(0) in redefined or _already_expanded(text, match, abbr.expansion):
                continue
            parts += [text[last : match.start()], f"{abbr.expansion} ({match.group(0)})"]
            last = match.end()
            done.append(
                {"abbr": match.group(0), "expansion": abbr.expansion, "offset": match.start()}
            )
        parts.append(text[last:])
        return "".join(parts), done

    def clean(self, record: Record) -> Record | Rejected:
        text, done = self.expand(record.text)
        if not done:
            return record
        expanded = record.with_text(text, self.name)
        expanded.meta = {
            **record.meta,
            "abbrev_expand": {"original": record.text, "expanded": done},
        }
        return expanded


def _already_expanded(text: str, match: re.Match[str], expansion: str) -> bool:
    """True for ``twice daily (bid)`` and ``bid (twice daily)``: leave those as they are."""
    before = text[max(0, match.start() - len(expansion) - 3) : match.start()].lower()
    after = text[match.end() : match.end() + len(expansion) + 3].lower()
    exp = expansion.lower()
    return before.endswith(exp + " (") or after.startswith(f" ({exp}")


def _load_terms(path: Path) -> list[Term]:
    pack = DomainPack(
        name="terms", version="", description="", corpus=path.parent, eval=path, terms=path
    )
    return pack.load_terms()
