"""How sure a score is: intervals for accuracies and a paired test for before/after changes.

An eval set of a few dozen questions moves by several points when one answer flips, so every
accuracy is shown with its 95% Wilson interval and every change with an exact McNemar test on the
questions both models answered.
"""

from __future__ import annotations

from collections.abc import Iterable
from math import comb
from typing import Any

#: below this many questions a category is shown as ``k/n``, never as a percentage
MIN_CHARTED = 5
#: a change with p at or above this is called noise
ALPHA = 0.05


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion ``hits / n`` (sensible for small n)."""
    if n == 0:
        return 0.0, 0.0
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * ((p * (1 - p) / n + z * z / (4 * n * n)) ** 0.5) / (1 + z * z / n)
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs.

    Under "no change" each discordant question is equally likely to go either way, so
    ``min(b, c)`` is binomial(b + c, 1/2); the p-value doubles its lower tail (capped at 1).
    """
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, k) for k in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired_outcomes(before: dict[str, bool], after: dict[str, bool]) -> dict[str, Any]:
    """Counts and McNemar p-value over the question ids both outcome maps share."""
    shared = [i for i in after if i in before]
    b = sum(1 for i in shared if before[i] and not after[i])
    c = sum(1 for i in shared if after[i] and not before[i])
    both = sum(1 for i in shared if before[i] and after[i])
    return {
        "n": len(shared),
        "both": both,
        "base_only": b,
        "trained_only": c,
        "neither": len(shared) - both - b - c,
        "p_value": round(mcnemar_exact(b, c), 6),
    }


def outcomes(items: Iterable[Any], key: str = "correct") -> dict[str, bool]:
    """``{id: correct}`` for the per-question rows that carry a boolean ``key``."""
    return {
        str(r["id"]): r[key]
        for r in items
        if isinstance(r, dict) and "id" in r and isinstance(r.get(key), bool)
    }


def describe_p(p_value: float) -> str:
    """``p = 0.03``, or ``within noise (p = 0.41)`` when the change is not significant."""
    shown = (
        "p < 0.001"
        if p_value < 0.001
        else f"p = {p_value:.2g}"
        if p_value < 0.01
        else f"p = {p_value:.2f}"
    )
    return shown if p_value < ALPHA else f"within noise ({shown})"


def count_of(flat: dict[str, Any], key: str) -> int | None:
    """The number of questions behind a proportion metric, from its sibling count.

    ``knowledge-qa.accuracy`` is counted by ``knowledge-qa.n``, ``knowledge-qa.em`` by
    ``knowledge-qa.n_generated``, ``...per_category.law.accuracy`` by ``...per_category.law.n``.
    """
    prefix, _, last = key.rpartition(".")
    siblings = ("n_generated", "n") if last in ("em", "contains") else ("n",)
    for name in siblings:
        value = flat.get(f"{prefix}.{name}")
        if isinstance(value, int | float) and value > 0:
            return int(value)
    return None


def is_proportion(key: str) -> bool:
    """Metrics that are a share of questions answered right (and so have a Wilson interval)."""
    last = key.rsplit(".", 1)[-1]
    return last.startswith("accuracy") or last in ("em", "contains", "pass_rate")


def intervals(flat: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """``{metric: {"n", "hits", "interval95"}}`` for every proportion metric with a known count."""
    out: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        n = count_of(flat, key) if is_proportion(key) and isinstance(value, int | float) else None
        if n and 0.0 <= value <= 1.0:
            hits = round(value * n)
            out[key] = {"n": n, "hits": hits, "interval95": list(wilson_interval(hits, n))}
    return out
