"""How the reports write a number: percentages, changes, 95% intervals, paired tests, counts.

Shared by the run report (:mod:`kinject.report`), its HTML page (:mod:`kinject.report_html`),
the comparison report and the console.
"""

from __future__ import annotations

from typing import Any

from kinject.stats import MIN_CHARTED, count_of, describe_p, is_proportion, wilson_interval

PERCENT_HINTS = (
    "accuracy",
    "score",
    "em",
    "contains",
    "f1",
    "rouge",
    "retention",
    "pass_rate",
    "cosine",
)


def fmt(key: str, value: Any) -> str:
    """Accuracy-like metrics as percentages, others with sensible precision."""
    if value is None:
        return "–"
    if isinstance(value, float):
        last = key.rsplit(".", 1)[-1]
        if any(h in last for h in PERCENT_HINTS) and -1.0 <= value <= 1.0:
            return f"{value * 100:.1f}%"
        return f"{value:,.4g}" if abs(value) < 1e5 else f"{value:,.0f}"
    return str(value)


def fmt_delta(key: str, value: float | None) -> str:
    if value is None:
        return "–"
    last = key.rsplit(".", 1)[-1]
    if any(h in last for h in PERCENT_HINTS) and -1.0 <= value <= 1.0:
        return f"{value * 100:+.1f} pts"
    return f"{value:+.4g}"


def interval_text(metrics: dict[str, Any], side: str, key: str) -> str:
    """``28–56%``: the 95% Wilson interval of a proportion metric, or "" without a count."""
    value, n = metrics.get(side, {}).get(key), count_of(metrics.get(side, {}), key)
    if (
        not is_proportion(key)
        or not isinstance(value, int | float)
        or not n
        or not 0.0 <= value <= 1.0
    ):
        return ""
    low, high = wilson_interval(round(value * n), n)
    return f"{low * 100:.0f}–{high * 100:.0f}%"


def with_interval(metrics: dict[str, Any], side: str, key: str) -> str:
    shown = fmt(key, metrics.get(side, {}).get(key))
    interval = interval_text(metrics, side, key)
    return f"{shown} ({interval})" if interval else shown


def paired_text(metrics: dict[str, Any], key: str) -> str:
    """``p = 0.03`` / ``within noise (p = 0.41)`` for an evaluator's headline accuracy, else ""."""
    evaluator, _, metric = key.partition(".")
    test = (metrics.get("paired") or {}).get(evaluator)
    return describe_p(test["p_value"]) if test and metric == "accuracy" else ""


def change_text(metrics: dict[str, Any], key: str) -> str:
    delta = fmt_delta(key, metrics.get("delta", {}).get(key))
    test = paired_text(metrics, key)
    return f"{delta}, {test}" if test else delta


def question_count(metrics: dict[str, Any], key: str) -> int | None:
    return count_of(metrics.get("trained", {}), key) or count_of(metrics.get("base", {}), key)


def share(value: float | None, n: int) -> str:
    """``3/4`` for a small count, ``62.5% (5/8)`` otherwise."""
    if value is None or not n:
        return "–"
    hits = round(value * n)
    return f"{hits}/{n}" if n < MIN_CHARTED else f"{value * 100:.1f}% ({hits}/{n})"
