"""Fact coverage: how many distinct phrasings each fact received, and which fell short of k.

Each augmenter that states facts keeps a :class:`Coverage` and exposes ``coverage.stats()`` as its
``stats`` attribute; the engine writes it into the run manifest.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from kinject_plugins.augmenters.facts import Fact

#: how many short-falling facts are listed by name in the stats (the count is always complete)
MAX_LISTED = 50


class Coverage:
    """Distinct phrasings per fact, plus rejected generations."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.facts: dict[str, Fact] = {}
        self.phrasings: dict[str, set[str]] = defaultdict(set)
        self.rejected: dict[str, int] = defaultdict(int)

    def add_facts(self, facts: Iterable[Fact]) -> None:
        for fact in facts:
            self.facts.setdefault(fact.id, fact)

    def add(self, fact_id: str, phrasing: str) -> None:
        self.phrasings[fact_id].add(" ".join(phrasing.split()))

    def reject(self, reason: str) -> None:
        self.rejected[reason] += 1

    def count(self, fact_id: str) -> int:
        return len(self.phrasings.get(fact_id, ()))

    def under_k(self) -> list[Fact]:
        return [f for fid, f in self.facts.items() if self.count(fid) < self.k]

    def stats(self, **extra: Any) -> dict[str, Any]:
        """Facts total, facts under k (and which), phrasings per fact, rejected generations."""
        short = self.under_k()
        counts = [self.count(fid) for fid in self.facts]
        return {
            "k": self.k,
            "facts_total": len(self.facts),
            "facts_under_k": len(short),
            "under_k": [
                {
                    "fact": f.id,
                    "record": f.record_id,
                    "sentence": f.text,
                    "phrasings": self.count(f.id),
                }
                for f in short[:MAX_LISTED]
            ],
            "phrasings_min": min(counts, default=0),
            "phrasings_mean": round(sum(counts) / len(counts), 2) if counts else 0.0,
            "rejected": dict(self.rejected),
            **extra,
        }
