"""``negatives``: plausible wrong answers for QA records.

Wrong answers come from confusable terms (定金 for 订金), perturbed numbers (40 mg -> 80 mg) and
dates (14 March 2011 -> 14 March 2012), and entities of the same kind swapped in from the corpus.
A ``ratio`` of the QA records (default 0.3, chosen by seed) become ``kind="preference"`` Records
(``meta = {prompt, chosen, rejected, distractors}``) for reward models; ``distractors`` (3 by
default) serve as multiple-choice options. A negative never equals the correct answer.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Augmenter
from kinject.domains import Term
from kinject.evaluation import format_prompt
from kinject.records import Record
from kinject_plugins.augmenters.answers import wh_phrase
from kinject_plugins.augmenters.facts import MONTHS, Value, extract_values
from kinject_plugins.augmenters.term_qa import load_term_list

if TYPE_CHECKING:
    from kinject.context import RunContext

PLUGIN = "negatives"
_NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")
_FACTORS = ("2", "0.5", "1.5", "3", "0.25", "10")


class NegativesOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: share of QA records that become preference pairs
    ratio: float = Field(0.3, ge=0.0, le=1.0)
    #: wrong answers listed per pair for multiple choice
    distractors: int = 3
    terms_file: str | None = None


def perturb_number(text: str, rng: random.Random) -> str:
    """``text`` with its first number scaled or shifted (format kept: decimals, thousands
    commas).
    """
    match = _NUMBER.search(text)
    if match is None:
        return text
    raw = match.group(0)
    value = Decimal(raw.replace(",", ""))
    decimals = len(raw.split(".")[1]) if "." in raw else 0
    new = value * Decimal(rng.choice(_FACTORS))
    if new == value or (decimals == 0 and new != new.to_integral_value()):
        new = value + rng.choice((1, 2, 5, 10))
    formatted = f"{new:,.{decimals}f}" if "," in raw else f"{new:.{decimals}f}"
    return text[: match.start()] + formatted + text[match.end() :]


def perturb_date(text: str, rng: random.Random) -> str:
    """Shift the year, or the month or day, of the date in ``text``."""
    year = re.search(r"(1[5-9]|20)\d\d", text)
    month = re.search("|".join(m.capitalize() for m in MONTHS), text)
    choice = rng.random()
    if month and choice < 0.4:
        names = [m.capitalize() for m in MONTHS if m.capitalize() != month.group(0)]
        return text[: month.start()] + rng.choice(names) + text[month.end() :]
    if year:
        shifted = int(year.group(0)) + rng.choice((-3, -2, -1, 1, 2, 3))
        return text[: year.start()] + str(shifted) + text[year.end() :]
    return perturb_number(text, rng)


def same_value(a: str, b: str) -> bool:
    """True when two answers state the same thing (text, or the same extracted values)."""
    if a.strip().lower().rstrip(".") == b.strip().lower().rstrip("."):
        return True
    va, vb = sorted(v.norm for v in extract_values(a)), sorted(v.norm for v in extract_values(b))
    return bool(va) and va == vb and _strip_values(a) == _strip_values(b)


def _strip_values(text: str) -> str:
    for value in extract_values(text):
        text = text.replace(value.text, "")
    return text.strip().lower()


class Negatives(Augmenter):
    """Wrong answers as preference pairs and multiple-choice distractors."""

    name = PLUGIN
    description = "plausible wrong answers: preference pairs and multiple-choice distractors"
    Options: ClassVar[type[NegativesOptions]] = NegativesOptions
    opts: NegativesOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.terms: list[Term] = []

    def setup(self, context: RunContext) -> None:
        self.terms = load_term_list(context, self.opts.terms_file)

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        pools = self._entity_pools(records)
        qa = [
            r for r in records if r.kind == "qa" and r.meta.get("answer") and r.meta.get("question")
        ]
        pairs = without = 0
        for record in qa:
            rng = random.Random(f"{self.seed}:{record.id}")
            if rng.random() >= self.opts.ratio:
                continue
            answer = str(record.meta["answer"])
            wrong = self.wrong_answers(answer, pools, rng)
            if not wrong:
                without += 1
                continue
            pairs += 1
            prompt = format_prompt(str(record.meta["question"]))
            meta = {
                "prompt": prompt,
                "chosen": answer,
                "rejected": wrong[0],
                "distractors": wrong,
                "source_id": record.id,
            }
            yield record.derive(f"{prompt} {answer}", PLUGIN, kind="preference", meta=meta)
        self.stats = {
            "qa_records": len(qa),
            "preference_pairs": pairs,
            "no_negative_found": without,
            "ratio": self.opts.ratio,
        }

    def _entity_pools(self, records: Sequence[Record]) -> dict[str, list[str]]:
        """Corpus values grouped by what a question would ask ("which organisation", "which
        date").
        """
        pools: dict[str, list[str]] = defaultdict(list)
        for record in records:
            for value in extract_values(
                record.meta.get("answer", "") if record.kind == "qa" else record.text
            ):
                key = _pool_key(value)
                if value.text not in pools[key]:
                    pools[key].append(value.text)
        return pools

    def wrong_answers(
        self, answer: str, pools: dict[str, list[str]], rng: random.Random
    ) -> list[str]:
        """Up to ``distractors`` distinct wrong answers, most plausible first."""
        candidates = self._confusable_answers(answer)
        values = extract_values(answer)
        for _ in range(4 * self.opts.distractors):
            if not values:
                break
            value = values[0]
            if value.kind == "date" or re.fullmatch(r"(1[5-9]|20)\d\d", value.norm):
                candidates.append(perturb_date(answer, rng))
            elif value.kind in ("quantity", "citation"):
                candidates.append(perturb_number(answer, rng))
        for value in values:
            pool = [p for p in pools.get(_pool_key(value), []) if p != value.text]
            rng.shuffle(pool)
            if value.kind == "name":
                # Too few of the same kind: any other name of the corpus is still a plausible slip.
                rest = [
                    p
                    for key, names in pools.items()
                    if key.startswith("name:")
                    for p in names
                    if p not in pool and p != value.text
                ]
                rng.shuffle(rest)
                pool += rest
            # A short form of the same entity ("Veltrane" for "Veltrane Ltd.") is not wrong.
            pool = [
                p
                for p in pool
                if p.lower() not in value.text.lower() and value.text.lower() not in p.lower()
            ]
            candidates += [answer.replace(value.text, other) for other in pool]
        out: list[str] = []
        for candidate in candidates:
            if not same_value(candidate, answer) and all(not same_value(candidate, o) for o in out):
                out.append(candidate)
        return out[: self.opts.distractors]

    def _confusable_answers(self, answer: str) -> list[str]:
        by_name = {t.term: t for t in self.terms}
        out: list[str] = []
        for term in self.terms:
            if answer.strip() == term.term:
                out += term.confusables
            elif term.definition and answer.strip() == term.definition.strip():
                out += [
                    by_name[c].definition
                    for c in term.confusables
                    if c in by_name and by_name[c].definition
                ]
            elif term.term in answer:
                out += [answer.replace(term.term, c) for c in term.confusables]
        return out


def _pool_key(value: Value) -> str:
    if value.kind == "name":
        return "name:" + wh_phrase(value)
    if value.kind == "quantity":
        unit = value.norm.split(" ", 1)[1] if " " in value.norm else ""
        return f"quantity:{unit}"
    return value.kind
