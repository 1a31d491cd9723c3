"""``compare.md`` and ``compare.html``: one row per strategy, plus plots."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from kinject.config import RunConfig
from kinject.report_format import fmt, interval_text, paired_text, share
from kinject.report_html import HTML_PAGE, md_to_html
from kinject.stats import MIN_CHARTED, count_of
from kinject.svg_charts import grouped_bars, scatter

#: (column, how to read it from a strategy's metrics)
COLUMNS: list[tuple[str, str]] = [
    ("knowledge accuracy", "trained:knowledge-qa.accuracy"),
    ("gain vs base", "delta:knowledge-qa.accuracy"),
    ("retention", "trained:retention.accuracy"),
    ("forgetting", "forgetting"),
    ("rubric", "trained:rubric.score"),
    ("perplexity", "trained:perplexity.perplexity"),
    ("train time (s)", "train:train_time_s"),
    ("peak memory (MB)", "train:peak_memory_mb"),
    ("trainable params", "train:trainable_params"),
    ("artifact (MB)", "artifact_mb"),
]


def cell(metrics: dict[str, Any], spec: str) -> float | None:
    if spec == "forgetting":
        base, trained = metrics.get("base", {}), metrics.get("trained", {})
        key = "retention.accuracy"
        return base[key] - trained[key] if key in base and key in trained else None
    if ":" not in spec:
        value = metrics.get(spec)
    else:
        section, key = spec.split(":", 1)
        value = metrics.get(section, {}).get(key)
    return float(value) if isinstance(value, int | float) else None


def _show(column: str, value: float | None) -> str:
    if value is None:
        return "–"
    if column in ("gain vs base", "forgetting"):
        return f"{value * 100:+.1f} pts"
    if column in ("knowledge accuracy", "retention", "rubric"):
        return f"{value * 100:.1f}%"
    if column == "trainable params":
        return f"{value:,.0f}"
    return fmt("", value)


#: columns that carry a 95% interval (accuracy) or a paired test against the base (change)
INTERVAL_COLUMNS = {
    "knowledge accuracy": "knowledge-qa.accuracy",
    "retention": "retention.accuracy",
}
TESTED_COLUMNS = {"gain vs base": "knowledge-qa.accuracy", "forgetting": "retention.accuracy"}


def _show_cell(column: str, spec: str, metrics: dict[str, Any]) -> str:
    """A table cell: the value, with its interval or with the paired test against the base."""
    value = cell(metrics, spec)
    shown = _show(column, value)
    if value is None:
        return shown
    if column in INTERVAL_COLUMNS and (
        interval := interval_text(metrics, "trained", INTERVAL_COLUMNS[column])
    ):
        return f"{shown} ({interval})"
    if column in TESTED_COLUMNS and (test := paired_text(metrics, TESTED_COLUMNS[column])):
        return f"{shown}, {test}"
    return shown


def table_rows(rows: dict[str, dict[str, Any]]) -> list[list[str]]:
    out = []
    base = next((m for m in rows.values() if "base" in m), None)
    if base is not None:
        base_view = {"trained": base["base"]}
        out.append(
            ["base (no training)"]
            + [_show_cell(c, s, base_view) if s.startswith("trained:") else "–" for c, s in COLUMNS]
        )
    for name, metrics in rows.items():
        if "error" in metrics:
            out.append([name, f"failed: {metrics['error']}"] + [""] * (len(COLUMNS) - 1))
        else:
            out.append([name] + [_show_cell(c, s, metrics) for c, s in COLUMNS])
    return out


def count_lines(rows: dict[str, dict[str, Any]]) -> list[str]:
    """How many questions each accuracy column stands on."""
    ok = [m for m in rows.values() if "error" not in m]
    parts = []
    for column, key in INTERVAL_COLUMNS.items():
        counts = sorted({n for m in ok if (n := count_of(m.get("trained", {}), key))})
        if counts:
            parts.append(f"{column} on {'/'.join(map(str, counts))} questions")
    if not parts:
        return []
    return [
        "",
        "Measured "
        + ", ".join(parts)
        + ". Accuracies carry their 95% interval (Wilson); changes carry an exact "
        'McNemar test of each strategy against the base on the same questions ("within noise" '
        "when p ≥ 0.05).",
    ]


def render_markdown(rows: dict[str, dict[str, Any]], config: RunConfig) -> str:
    lines = [
        f"# Strategy comparison: {config.domain or 'custom corpus'}",
        "",
        f"Base model **{config.base_model}**, seed {config.seed}; every strategy trained on the "
        "same prepared data "
        "and judged by the same evaluators on the same held-out questions.",
        "",
        "| strategy | " + " | ".join(c for c, _ in COLUMNS) + " |",
        "|---" * (len(COLUMNS) + 1) + "|",
    ]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(rows)]
    lines += count_lines(rows)
    best = _best(rows)
    if best:
        lines += ["", best]
    lines += [
        "",
        "Forgetting = retention accuracy of the base model minus that of the trained one (lower "
        "is better).",
        "Per-strategy reports: `<strategy>/report.md`.",
    ]
    return "\n".join(lines) + "\n"


def _best(rows: dict[str, dict[str, Any]]) -> str:
    accuracy = _column(rows, "trained:knowledge-qa.accuracy")
    if not accuracy:
        return ""
    name = max(accuracy, key=lambda n: accuracy[n])
    text = f"Learned the domain best: **{name}** ({accuracy[name] * 100:.1f}%)."
    forgetting = _column(rows, "forgetting")
    if forgetting:
        least = min(forgetting, key=lambda n: forgetting[n])
        text += f" Forgot the least: **{least}** ({forgetting[least] * 100:+.1f} pts)."
    return text


def _column(rows: dict[str, dict[str, Any]], spec: str) -> dict[str, float]:
    """One column's values for the strategies that have it."""
    out = {}
    for name, metrics in rows.items():
        value = None if "error" in metrics else cell(metrics, spec)
        if value is not None:
            out[name] = value
    return out


def charts(rows: dict[str, dict[str, Any]]) -> str:
    acc = _column(rows, "trained:knowledge-qa.accuracy")
    ret = _column(rows, "trained:retention.accuracy")
    secs = _column(rows, "train:train_time_s")
    ok = {n: m for n, m in rows.items() if "error" not in m}
    parts = [
        scatter(
            [(n, ret[n], acc[n]) for n in acc if n in ret],
            "general-knowledge retention",
            "domain accuracy",
            "Accuracy vs retention",
        ),
        scatter(
            [(n, secs[n], acc[n]) for n in acc if n in secs],
            "train time (s)",
            "domain accuracy",
            "Accuracy vs train time",
            x_fmt="{:.1f}",
        ),
    ]
    charted, small = _per_category(ok)
    parts.append(grouped_bars(charted, "Accuracy per category"))
    if small:
        notes = "; ".join(
            f"{cat}: " + ", ".join(f"{name} {share(v, n)}" for name, (v, n) in values.items())
            for cat, values in small.items()
        )
        parts.append(
            f"<p class='note'>Not charted, fewer than {MIN_CHARTED} questions (right/asked): "
            f"{html.escape(notes)}</p>"
        )
    return "\n".join(p for p in parts if p)


def _per_category(
    rows: dict[str, dict[str, Any]],
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, tuple[float, int]]]]:
    """Per-category accuracy by strategy: the categories to chart, and those too small to chart."""
    groups: dict[str, dict[str, float]] = {}
    small: dict[str, dict[str, tuple[float, int]]] = {}
    prefix, suffix = "knowledge-qa.per_category.", ".accuracy"
    for name, metrics in rows.items():
        trained = metrics.get("trained", {})
        for key, value in trained.items():
            if key.startswith(prefix) and key.endswith(suffix):
                category, n = (
                    key[len(prefix) : -len(suffix)],
                    int(trained.get(key[: -len(suffix)] + ".n", 0)),
                )
                if n >= MIN_CHARTED:
                    groups.setdefault(category, {})[name] = value
                else:
                    small.setdefault(category, {})[name] = (value, n)
    return groups, small


def write_compare_report(root: Path, rows: dict[str, dict[str, Any]], config: RunConfig) -> Path:
    text = render_markdown(rows, config)
    (root / "compare.md").write_text(text, encoding="utf-8")
    page = HTML_PAGE.format(
        title=html.escape(f"kinject compare: {config.domain or ''}"),
        chart="",
        body=md_to_html(text) + "\n" + charts(rows),
    )
    (root / "compare.html").write_text(page, encoding="utf-8")
    return root / "compare.md"
