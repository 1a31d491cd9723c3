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


def merge_stats(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """The stats of a whole input from those of its groups of documents (each made by
    :meth:`Coverage.stats` plus an augmenter's own counts): counts added, the lowest minimum, means
    weighted by facts, the listed facts joined, shares recomputed from their counts and the
    largest per-document share kept."""
    from kinject.runners.augment import add_stats

    total = add_stats(parts)
    if not parts:
        return total
    for key in ("k",):  # settings, not counts
        if key in parts[0]:
            total[key] = parts[0][key]
    facts = [int(p.get("facts_total", 0)) for p in parts]
    if "phrasings_min" in total:
        total["phrasings_min"] = min(
            (int(p["phrasings_min"]) for p, n in zip(parts, facts, strict=True) if n), default=0
        )
    if "phrasings_mean" in total:
        means = [float(p.get("phrasings_mean", 0)) for p in parts]
        weighted = sum(m * n for m, n in zip(means, facts, strict=True))
        total["phrasings_mean"] = round(weighted / sum(facts), 2) if sum(facts) else 0.0
    if "under_k" in total:
        total["under_k"] = [f for p in parts for f in p.get("under_k", [])][:MAX_LISTED]
    if "facts_at_k_share" in total:
        n, short = total.get("facts_total", 0), total.get("facts_under_k", 0)
        total["facts_at_k_share"] = round(1 - short / n, 3) if n else None
    if "named_subject_share" in total:
        asked = total.get("questions", 0)
        total["named_subject_share"] = round(total["named_subject"] / asked, 3) if asked else None
    if "max_answer_share" in total:
        shares = [p["max_answer_share"] for p in parts if p.get("max_answer_share") is not None]
        total["max_answer_share"] = max(shares, default=None)
    return total
