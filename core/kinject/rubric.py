"""Domain rubrics: weighted criteria with machine checks, scored on one answer at a time.

A rubric (YAML, written by a domain pack) lists criteria; each has an ``id``, a ``weight``, a
``check`` (one of :data:`CHECKS`), check ``params`` and an optional ``applies_to`` regex on the
question. :meth:`Rubric.score` is pure and fast (patterns compiled once), because the ``rlhf``
strategy calls it for every sampled answer to build preference pairs and rewards.

Checks (``answer`` is the model's answer, ``reference`` the reference answer):

- ``required_terms``: every term in ``params.terms`` (or, without ``terms``, every domain term
  found in the reference) occurs in the answer, a synonym counting as the term;
  ``params.mode: any`` needs just one. Not applicable when there is nothing to require.
- ``forbidden_terms``: no term in ``params.terms`` occurs in the answer, unless the reference
  itself uses it.
- ``confusions``: for each domain term the reference uses, the answer does not use one of its
  ``confusables`` instead (e.g. 订金 where the reference says 定金).
- ``pattern`` / ``forbidden_pattern``: ``params.regex`` must / must not match the answer.
- ``numeric_match``: every number in the reference occurs in the answer, within the relative
  ``params.tolerance`` (default 0). Not applicable when the reference has no number.
- ``units``: every number in the answer carries a unit from ``params.allowed`` right before or
  after it. Not applicable when the answer has no number.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kinject.domains import Term
from kinject.errors import ConfigError

CHECKS = (
    "required_terms",
    "forbidden_terms",
    "confusions",
    "pattern",
    "forbidden_pattern",
    "numeric_match",
    "units",
)
_REQUIRED_PARAMS = {
    "forbidden_terms": ("terms",),
    "pattern": ("regex",),
    "forbidden_pattern": ("regex",),
    "units": ("allowed",),
}
_CRITERION_KEYS = {"id", "description", "weight", "check", "params", "applies_to"}


@dataclass(frozen=True)
class Criterion:
    """One validated rubric criterion."""

    id: str
    check: str
    weight: float = 1.0
    description: str = ""
    params: dict[str, Any] = field(default_factory=dict)
    applies_to: re.Pattern[str] | None = None


@dataclass
class RubricScore:
    """The result of scoring one answer.

    ``total`` is the weighted share of applicable criteria passed (1.0 when none applies);
    ``per_criterion`` maps each id to True/False, or None when it did not apply; ``failures``
    says in words what failed.
    """

    total: float
    per_criterion: dict[str, bool | None]
    failures: list[str]
    applicable_weight: float = 0.0


Outcome = tuple[bool | None, str]


class Rubric:
    """A validated rubric bound to a domain term list."""

    def __init__(
        self, name: str, criteria: Sequence[Criterion], terms: Sequence[Term] = ()
    ) -> None:
        self.name = name
        self.criteria = list(criteria)
        self.terms = TermMatcher(terms)
        self._checks = [self._compile(c) for c in self.criteria]

    # -- construction ---------------------------------------------------------------------------

    @classmethod
    def load(cls, path: Path | str, terms: Sequence[Term] = ()) -> Rubric:
        """Read a rubric YAML file; any problem is a :class:`ConfigError` naming the file."""
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(str(exc).splitlines()[0], source=str(path)) from exc
        return cls.from_dict(data, terms, source=str(path))

    @classmethod
    def from_dict(cls, data: Any, terms: Sequence[Term] = (), source: str = "rubric") -> Rubric:
        """Validate a parsed rubric; every problem is listed in one :class:`ConfigError`."""
        problems: list[str] = []
        if not isinstance(data, dict):
            raise ConfigError("a rubric must be a mapping with `criteria`", source=source)
        raw = data.get("criteria")
        if not isinstance(raw, list) or not raw:
            problems.append("`criteria` must be a non-empty list")
            raw = []
        criteria: list[Criterion] = []
        seen: set[str] = set()
        for index, entry in enumerate(raw):
            criterion = _parse_criterion(index, entry, seen, problems)
            if criterion is not None:
                criteria.append(criterion)
        if problems:
            raise ConfigError(problems, source=source)
        return cls(str(data.get("name", "")), criteria, terms)

    # -- scoring --------------------------------------------------------------------------------

    def score(self, question: str, answer: str, reference: str) -> RubricScore:
        """Score ``answer`` to ``question`` against ``reference``."""
        per: dict[str, bool | None] = {}
        failures: list[str] = []
        earned = possible = 0.0
        for criterion, check in zip(self.criteria, self._checks, strict=True):
            if criterion.applies_to is not None and not criterion.applies_to.search(question):
                per[criterion.id] = None
                continue
            passed, why = check(answer, reference)
            per[criterion.id] = passed
            if passed is None:
                continue
            possible += criterion.weight
            if passed:
                earned += criterion.weight
            else:
                failures.append(f"{criterion.id}: {why}")
        total = earned / possible if possible else 1.0
        return RubricScore(total, per, failures, possible)

    def _compile(self, c: Criterion) -> Callable[[str, str], Outcome]:
        p = c.params
        if c.check == "required_terms":
            fixed = list(p["terms"]) if p.get("terms") else None
            return lambda a, r: self._required(a, r, fixed, p.get("mode", "all"))
        if c.check == "forbidden_terms":
            return lambda a, r: self._forbidden(a, r, list(p["terms"]))
        if c.check == "confusions":
            return self._confusions
        if c.check in ("pattern", "forbidden_pattern"):
            regex, must = re.compile(p["regex"]), c.check == "pattern"
            return lambda a, r: _pattern(regex, a, must)
        if c.check == "numeric_match":
            return lambda a, r: _numeric(a, r, float(p.get("tolerance", 0.0)))
        unit_re = _unit_regex(p["allowed"])
        return lambda a, r: _units(unit_re, a)

    def _required(self, answer: str, reference: str, fixed: list[str] | None, mode: str) -> Outcome:
        wanted = fixed if fixed is not None else self.terms.found_in(reference)
        if not wanted:
            return None, ""
        missing = [t for t in wanted if not self.terms.contains(answer, t)]
        ok = len(missing) < len(wanted) if mode == "any" else not missing
        return ok, "" if ok else f"missing {', '.join(missing)}"

    def _forbidden(self, answer: str, reference: str, terms: list[str]) -> Outcome:
        used = [
            t
            for t in terms
            if self.terms.contains(answer, t) and not self.terms.contains(reference, t)
        ]
        return not used, f"uses {', '.join(used)}" if used else ""

    def _confusions(self, answer: str, reference: str) -> Outcome:
        pairs = self.terms.confusable_pairs(reference)
        if not pairs:
            return None, ""
        wrong = self.terms.confused(answer, reference, pairs)
        return not wrong, "; ".join(f"{bad} instead of {good}" for good, bad in wrong)


def _parse_criterion(
    index: int, entry: Any, seen: set[str], problems: list[str]
) -> Criterion | None:
    where = f"criteria[{index}]"
    if not isinstance(entry, dict):
        problems.append(f"{where}: must be a mapping")
        return None
    before = len(problems)
    cid = entry.get("id")
    if not isinstance(cid, str) or not cid:
        problems.append(f"{where}: `id` is required")
    elif cid in seen:
        problems.append(f"{where}: duplicate id '{cid}'")
    else:
        seen.add(cid)
        where = f"criterion '{cid}'"
    for key in sorted(set(entry) - _CRITERION_KEYS):
        problems.append(f"{where}: unknown key `{key}`")
    check = entry.get("check")
    if check not in CHECKS:
        problems.append(f"{where}: unknown check {check!r}; expected one of {', '.join(CHECKS)}")
    weight = entry.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight <= 0:
        problems.append(f"{where}: `weight` must be a positive number, got {weight!r}")
    params = entry.get("params") or {}
    if not isinstance(params, dict):
        problems.append(f"{where}: `params` must be a mapping")
        params = {}
    elif check in CHECKS:
        problems.extend(f"{where}: {p}" for p in _param_problems(str(check), params))
    applies_to = _compile_regex(entry.get("applies_to"), f"{where}: `applies_to`", problems)
    if len(problems) > before:
        return None
    return Criterion(
        str(cid), str(check), float(weight), str(entry.get("description", "")), params, applies_to
    )


def _param_problems(check: str, params: dict[str, Any]) -> Iterable[str]:
    for key in _REQUIRED_PARAMS.get(check, ()):
        if not params.get(key):
            yield f"check {check} needs `params.{key}`"
    for key in ("terms", "allowed"):
        value = params.get(key)
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) and v for v in value)
        ):
            yield f"`params.{key}` must be a list of non-empty strings"
    if "regex" in params:
        local: list[str] = []
        _compile_regex(params["regex"], "`params.regex`", local)
        yield from local
    tolerance = params.get("tolerance", 0.0)
    if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or tolerance < 0:
        yield f"`params.tolerance` must be a number >= 0, got {tolerance!r}"
    if params.get("mode", "all") not in ("all", "any"):
        yield f"`params.mode` must be 'all' or 'any', got {params.get('mode')!r}"


def _compile_regex(value: Any, where: str, problems: list[str]) -> re.Pattern[str] | None:
    if value is None:
        return None
    if not isinstance(value, str):
        problems.append(f"{where} must be a string")
        return None
    try:
        return re.compile(value)
    except re.error as exc:
        problems.append(f"{where} is not a valid regex ({exc})")
        return None


def _pattern(regex: re.Pattern[str], answer: str, must_match: bool) -> Outcome:
    found = regex.search(answer) is not None
    if found == must_match:
        return True, ""
    return (
        False,
        f"does not match /{regex.pattern}/" if must_match else f"matches /{regex.pattern}/",
    )


def _numeric(answer: str, reference: str, tolerance: float) -> Outcome:
    wanted = [value for value, _, _ in find_numbers(reference)]
    if not wanted:
        return None, ""
    have = [value for value, _, _ in find_numbers(answer)]
    missing = [w for w in wanted if not any(numbers_close(w, h, tolerance) for h in have)]
    return not missing, f"missing {', '.join(f'{m:g}' for m in missing)}" if missing else ""


def _unit_regex(allowed: list[str]) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Patterns for a unit right after a number (``5 kg``) and right before it (``$5``)."""
    units = "|".join(
        re.escape(unicodedata.normalize("NFKC", u)) for u in sorted(allowed, key=len, reverse=True)
    )
    after = re.compile(rf"\s*(?:{units})(?![A-Za-z])", re.IGNORECASE)
    before = re.compile(rf"(?<![A-Za-z])(?:{units})\s*$", re.IGNORECASE)
    return after, before


def _units(unit_re: tuple[re.Pattern[str], re.Pattern[str]], answer: str) -> Outcome:
    answer = unicodedata.normalize("NFKC", answer)
    numbers = find_numbers(answer)
    if not numbers:
        return None, ""
    after, before = unit_re
    bare = [
        f"{value:g}"
        for value, start, end in numbers
        if not (after.match(answer, end) or before.search(answer[max(0, start - 16) : start]))
    ]
    return not bare, f"no unit on {', '.join(bare)}" if bare else ""


# -- text helpers (also used by the term-f1 evaluator) -------------------------------------------

_NUMBER = re.compile(r"(?<![A-Za-z0-9.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?")


def find_numbers(text: str) -> list[tuple[float, int, int]]:
    """Numbers in ``text`` as ``(value, start, end)``; ``1,000`` is one thousand."""
    text = unicodedata.normalize("NFKC", text)
    return [
        (float(m.group(0).replace(",", "")), m.start(), m.end()) for m in _NUMBER.finditer(text)
    ]


def numbers_close(a: float, b: float, tolerance: float) -> bool:
    """Equal within a relative ``tolerance`` (0 means equal up to float rounding)."""
    return abs(a - b) <= max(tolerance * max(abs(a), abs(b)), 1e-9)


def _has_cjk(text: str) -> bool:
    return any("\u3000" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff" for ch in text)


class TermMatcher:
    """Finds domain terms (and their synonyms) in text.

    Latin-script terms match case-insensitively on word boundaries; terms with CJK characters
    match as substrings, since those scripts do not separate words with spaces.
    """

    def __init__(self, terms: Sequence[Term] = ()) -> None:
        self.forms: dict[str, list[str]] = {}
        self.confusables: dict[str, list[str]] = {}
        for term in terms:
            self.forms[term.term] = [term.term, *term.synonyms]
            self.confusables[term.term] = list(term.confusables)
        self._patterns: dict[str, re.Pattern[str]] = {}

    def pattern(self, form: str) -> re.Pattern[str]:
        """The compiled pattern of one surface form (cached)."""
        compiled = self._patterns.get(form)
        if compiled is None:
            body = re.escape(unicodedata.normalize("NFKC", form))
            if not _has_cjk(form):
                body = rf"(?<![A-Za-z0-9]){body}(?![A-Za-z0-9])"
            compiled = self._patterns[form] = re.compile(body, re.IGNORECASE)
        return compiled

    def forms_of(self, term: str) -> list[str]:
        """A domain term's surface forms (itself and its synonyms); any other string: itself."""
        return self.forms.get(term, [term])

    def contains(self, text: str, term: str) -> bool:
        """``term`` (or one of its synonyms) occurs in ``text``."""
        text = unicodedata.normalize("NFKC", text)
        return any(self.pattern(f).search(text) for f in self.forms_of(term))

    def found_in(self, text: str) -> list[str]:
        """The domain terms that occur in ``text``, in term-list order."""
        return [term for term in self.forms if self.contains(text, term)]

    def confusable_pairs(self, reference: str) -> list[tuple[str, str]]:
        """(term, confusable) for each term in ``reference`` whose confusable it does not use."""
        return [
            (term, bad)
            for term in self.found_in(reference)
            for bad in self.confusables.get(term, [])
            if not self.contains(reference, bad)
        ]

    def confused(
        self, answer: str, reference: str, pairs: list[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        """The pairs whose confusable the answer uses; the right term's own spans are masked
        first, so a confusable that is part of the right term (``payment`` in ``advance
        payment``) does not count."""
        answer = unicodedata.normalize("NFKC", answer)
        wrong = []
        for good, bad in pairs:
            masked = answer
            for form in self.forms_of(good):
                masked = self.pattern(form).sub(" ", masked)
            if any(self.pattern(f).search(masked) for f in self.forms_of(bad)):
                wrong.append((good, bad))
        return wrong
