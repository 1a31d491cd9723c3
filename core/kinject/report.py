"""The run report: ``report.md`` and a self-contained ``report.html`` from the run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kinject.metric_names import TRAINING_MEASURES, human_name, main_metrics
from kinject.redact import redact_text
from kinject.report_format import (
    change_text,
    fmt,
    fmt_delta,
    interval_text,
    question_count,
    share,
    with_interval,
)
from kinject.report_html import render_html
from kinject.stats import MIN_CHARTED, describe_p

# : where a trainer leaves its loss by step (``<output_dir>/loss_history.json``; a run's is under
# ``model/``)
LOSS_HISTORY = "loss_history.json"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def result_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(name, questions, base, trained, change) for the main metrics, with intervals and tests."""
    keys = main_metrics(list(metrics.get("trained", {})))
    return [
        (
            human_name(k),
            str(question_count(metrics, k) or "–"),
            with_interval(metrics, "base", k),
            with_interval(metrics, "trained", k),
            change_text(metrics, k),
        )
        for k in keys
    ]


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Every flat metric under its raw name (the "All metrics" table)."""
    base, trained, delta = (
        metrics.get("base", {}),
        metrics.get("trained", {}),
        metrics.get("delta", {}),
    )
    keys = sorted(set(base) | set(trained), key=lambda k: (k.count("."), k))
    return [
        (k, fmt(k, base.get(k)), fmt(k, trained.get(k)), fmt_delta(k, delta.get(k))) for k in keys
    ]


HEADLINE_METRICS = ("knowledge-qa.accuracy", "retention.accuracy", "rubric.score")


def headline_text(metrics: dict[str, Any]) -> list[str]:
    """The lines the console prints at the end of a run: before → after, interval, count, test."""
    lines = []
    for key in HEADLINE_METRICS:
        if key not in metrics.get("trained", {}):
            continue
        line = (
            f"{human_name(key)}: {fmt(key, metrics['base'].get(key))} → "
            f"{fmt(key, metrics['trained'][key])} ({change_text(metrics, key)})"
        )
        n = question_count(metrics, key)
        if n:
            before, after = (
                interval_text(metrics, "base", key),
                interval_text(metrics, "trained", key),
            )
            line += f"; {n} questions" + (
                f", 95% interval {before} → {after}" if before and after else ""
            )
        lines.append(line)
    return lines


def example_rows(run_dir: Path, limit: int = 5, learned: bool = True) -> list[dict[str, Any]]:
    """Questions training fixed (base wrong, trained right), or with ``learned=False`` broke."""
    base = _load(run_dir / "evaluation" / "base.json").get("details", {}).get("knowledge-qa", {})
    trained = (
        _load(run_dir / "evaluation" / "trained.json").get("details", {}).get("knowledge-qa", {})
    )
    before = {i.get("id"): i for i in base.get("items", []) if isinstance(i, dict)}
    rows = []
    for item in trained.get("items", []):
        prev = before.get(item.get("id")) if isinstance(item, dict) else None
        if (
            prev is None
            or not isinstance(item.get("correct"), bool)
            or not isinstance(prev.get("correct"), bool)
        ):
            continue
        if item["correct"] == learned and prev["correct"] != learned:
            rows.append(
                {
                    "question": item.get("question", item.get("id")),
                    "base": prev.get("chosen_text", prev.get("chosen")),
                    "trained": item.get("chosen_text", item.get("chosen")),
                }
            )
        if len(rows) >= limit:
            break
    return rows


def write_loss_history(log_history: list[dict[str, Any]], out_dir: Path) -> Path:
    """Keep the (step, loss) and (step, eval_loss) entries of a trainer's log for the report."""
    keep = [
        {"step": int(e["step"]), name: round(float(e[name]), 5)}
        for e in log_history
        if "step" in e
        for name in ("loss", "eval_loss")
        if isinstance(e.get(name), int | float)
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOSS_HISTORY
    path.write_text(json.dumps(keep), encoding="utf-8")
    return path


def loss_series(run_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """The run's training (and evaluation) loss by step, from ``model/loss_history.json``."""
    path = run_dir / "model" / LOSS_HISTORY
    entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    return {
        label: [(e["step"], e[name]) for e in entries if name in e]
        for label, name in (("training loss", "loss"), ("held-out loss", "eval_loss"))
    }


def collect(run_dir: Path) -> dict[str, Any]:
    manifest = _load(run_dir / "manifest.json")
    metrics = _load(run_dir / "metrics.json")
    if metrics.get("base") and "paired" not in metrics:  # written before the tests were stored
        from kinject.scoring import add_statistics

        details = [
            _load(run_dir / "evaluation" / f"{side}.json").get("details", {})
            for side in ("base", "trained")
        ]
        add_statistics(metrics, *details)
    return {
        "manifest": manifest,
        "metrics": metrics,
        "examples": example_rows(run_dir),
        "broken": example_rows(run_dir, learned=False),
        "loss": loss_series(run_dir),
    }


def render_markdown(data: dict[str, Any]) -> str:
    m, metrics = data["manifest"], data["metrics"]
    cfg = m.get("config", {})
    out = [
        f"# kinject run `{m.get('run_id', '')}`",
        "",
        f"Domain **{cfg.get('domain') or '–'}**, strategy **{cfg.get('strategy')}**, base model "
        f"**{cfg.get('base_model')}**, seed {cfg.get('seed')}.",
        "",
    ]
    out += [f"- {line}" for line in headline_text(metrics)] + [""]
    out += eval_set_lines(m, metrics)
    out += [
        "## Results (same evaluators, base vs trained)",
        "",
        "| measure | questions | base | trained | change |",
        "|---|---|---|---|---|",
    ]
    out += ["| " + " | ".join(row) + " |" for row in result_rows(metrics)]
    out += ["", READING_NOTE]
    out += paired_lines(metrics) + category_lines(metrics)
    out += training_lines(metrics.get("train", {}), data.get("loss") or {})
    out += example_lines(
        data["examples"],
        "Learned: questions the base model missed and the trained model gets right",
    )
    out += example_lines(
        data.get("broken", []),
        "Broken: questions the base model got right and the trained model misses",
    )
    out += data_lines(m)
    exports = m.get("stages", {}).get("export", {})
    if exports:
        out += ["", "## Exports", ""]
        out += [
            f"- **{name}**: {', '.join(v.get('paths', [])) or 'FAILED: ' + v.get('error', '')}"
            for name, v in exports.items()
        ]
    out += ["", "## All metrics", "", "| metric | base | trained | change |", "|---|---|---|---|"]
    out += [f"| {k} | {b} | {t} | {d} |" for k, b, t, d in metric_rows(metrics)]
    out += [
        "",
        "## Reproduce",
        "",
        "```",
        " ".join(m.get("command", [])) or "inject",
        "```",
        "",
        "Resolved config, input hashes and library versions are in `manifest.json`.",
    ]
    return "\n".join(out) + "\n"


READING_NOTE = (
    "Percentages in brackets are 95% intervals (Wilson). A change is followed by the p-value of "
    "an exact "
    'McNemar test on the questions both models answered; "within noise" means p ≥ 0.05.'
)


def paired_lines(metrics: dict[str, Any]) -> list[str]:
    """Per evaluator: how many questions changed each way, and whether that is more than chance."""
    paired = metrics.get("paired") or {}
    if not paired:
        return []
    out = [
        "",
        "## Before and after, question by question",
        "",
        "| evaluator | questions | right before and after | only base right | only trained right "
        "| test |",
        "|---|---|---|---|---|---|",
    ]
    for name, t in paired.items():
        out.append(
            f"| {human_name(name + '.accuracy')} | {t['n']} | {t['both']} | {t['base_only']} | "
            f"{t['trained_only']} | {describe_p(t['p_value'])} |"
        )
    return out


def category_lines(metrics: dict[str, Any], evaluator: str = "knowledge-qa") -> list[str]:
    """Accuracy per category; below MIN_CHARTED questions only ``k/n``."""
    prefix = f"{evaluator}.per_category."
    trained, base = metrics.get("trained", {}), metrics.get("base", {})
    cats = sorted(
        {
            k[len(prefix) : -len(".accuracy")]
            for k in trained
            if k.startswith(prefix) and k.endswith(".accuracy")
        }
    )
    if len(cats) < 2:
        return []
    out = [
        "",
        "## Domain knowledge per category",
        "",
        "| category | questions | base | trained |",
        "|---|---|---|---|",
    ]
    for cat in cats:
        key = f"{prefix}{cat}.accuracy"
        n = int(trained.get(f"{prefix}{cat}.n", 0))
        out.append(f"| {cat} | {n} | {share(base.get(key), n)} | {share(trained.get(key), n)} |")
    return out + [
        "",
        f"Categories with fewer than {MIN_CHARTED} questions are shown as right/asked, not as a "
        "percentage.",
    ]


def training_lines(train: dict[str, Any], loss: dict[str, list[tuple[float, float]]]) -> list[str]:
    out = truncation_lines(train)
    if not train:
        return out
    out += ["", "## Training", ""]
    if "dp_epsilon" in train:
        out += [
            f"Trained with differential privacy (DP-SGD): ε = {train['dp_epsilon']:.2f} at "
            f"δ = {train['dp_delta']:.2g} (noise multiplier {train['dp_noise_multiplier']:.3g}, "
            f"clipping norm {train['dp_max_grad_norm']:g}, sample rate "
            f"{train['dp_sample_rate']:.3g}, {train['dp_steps']} steps).",
            "",
        ]
    points = loss.get("training loss") or []
    if points:
        out += [
            f"Training loss {points[0][1]:.3g} at step {points[0][0]:g} → {points[-1][1]:.3g} at "
            "step "
            f"{points[-1][0]:g} ({len(points)} logged points, `model/{LOSS_HISTORY}`).",
            "",
        ]
    out += ["| measure | value | name in metrics.json |", "|---|---|---|"]
    return out + [
        f"| {TRAINING_MEASURES.get(k, k.replace('_', ' ').capitalize())} | "
        f"{f'{v:,}' if isinstance(v, int) and not isinstance(v, bool) else fmt(k, v)} | `{k}` |"
        for k, v in train.items()
        if not isinstance(v, dict | list)
    ]


def example_lines(rows: list[dict[str, Any]], title: str) -> list[str]:
    if not rows:
        return []
    out = [
        "",
        f"## {title}",
        "",
        "| question | base answered | trained answered |",
        "|---|---|---|",
    ]
    return out + [
        f"| {_cell(e['question'])} | {_cell(e['base'])} | {_cell(e['trained'])} |" for e in rows
    ]


def _cell(value: Any) -> str:
    """Table-safe text: a ``|`` or a line break would split the row."""
    return str(value).replace("|", "/").replace("\n", " ")


def data_lines(manifest: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Data",
        "",
        "| stage | records | time (s) | dropped / quarantined |",
        "|---|---|---|---|",
    ]
    for stage, stats in manifest.get("stages", {}).items():
        if isinstance(stats, dict) and "records" in stats:
            notes = {**stats.get("quarantined", {}), **_flat_drops(stats.get("dropped", {}))}
            reasons = ", ".join(f"{k}: {v}" for k, v in notes.items()) or "–"
            cached = " (cached)" if stats.get("skipped") else ""
            out.append(
                f"| {stage}{cached} | {stats['records']} | {stats.get('seconds', '–')} | "
                f"{reasons} |"
            )
    return out


def eval_set_lines(manifest: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """Where the questions came from, how many, and the gain on what the base model did not know."""
    origin = manifest.get("eval_set") or metrics.get("eval_set") or {}
    out: list[str] = []
    if origin:
        out += [
            "## What the knowledge questions measure",
            "",
            f"Questions: {origin.get('label', '–')} "
            "(written to `eval_set.jsonl`: review, correct and reuse it with `--set "
            "eval_set=FILE`).",
        ]
        if origin.get("warning"):
            out += ["", f"**{origin['warning'].removeprefix('warning: ')}**"]
    knowledge = metrics.get("knowledge") or {}
    n = knowledge.get("n", 0)
    if n:
        out += ["", "| questions | n | trained correct | 95% interval |", "|---|---|---|---|"]
        for key, label in (
            ("unknown_to_base", "the base model got wrong"),
            ("known_to_base", "the base model already got right"),
        ):
            part = knowledge.get(key) or {}
            low, high = part.get("interval95") or (0.0, 0.0)
            acc = part.get("trained_accuracy")
            shown = (
                "–" if acc is None else f"{part['trained_correct']}/{part['n']} ({acc * 100:.1f}%)"
            )
            out.append(
                f"| {label} | {part.get('n', 0)} | {shown} | {low * 100:.1f}–{high * 100:.1f}% |"
            )
        if n < 100:
            out += [
                "",
                f"With {n} questions one question is {100 / n:.1f} points: differences of a few "
                "points are noise.",
            ]
    return out + ([""] if out else [])


def truncation_lines(train: dict[str, Any]) -> list[str]:
    total, cut = train.get("tokens"), train.get("tokens_truncated")
    if not total:
        return []
    line = (
        f"Training text: {total:,} tokens, {cut or 0:,} ({(cut or 0) / total:.2%}) beyond the "
        "trainer's max_length and not trained on."
    )
    return ["", line]


def _flat_drops(dropped: dict[str, Any]) -> dict[str, Any]:
    return {f"{c}:{r}": n for c, reasons in dropped.items() for r, n in reasons.items()}


def write_report(run_dir: Path) -> Path:
    """Write report.md and report.html; returns the markdown path."""
    data = collect(run_dir)
    text = redact_text(render_markdown(data))
    (run_dir / "report.md").write_text(text, encoding="utf-8")
    (run_dir / "report.html").write_text(render_html(text, data), encoding="utf-8")
    return run_dir / "report.md"
