"""The run report: ``report.md`` and a self-contained ``report.html`` from the run directory."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from kinject.metric_names import TRAINING_MEASURES, human_name, main_metrics
from kinject.redact import redact_text
from kinject.stats import MIN_CHARTED, count_of, describe_p, is_proportion, wilson_interval

PERCENT_HINTS = ("accuracy", "score", "em", "contains", "f1", "rouge", "retention", "pass_rate", "cosine")
#: where a trainer leaves its loss by step (``<output_dir>/loss_history.json``; a run's is under ``model/``)
LOSS_HISTORY = "loss_history.json"


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


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
    if not is_proportion(key) or not isinstance(value, int | float) or not n or not 0.0 <= value <= 1.0:
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


def result_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """(name, questions, base, trained, change) for the main metrics, with intervals and tests."""
    keys = main_metrics(list(metrics.get("trained", {})))
    return [(human_name(k), str(question_count(metrics, k) or "–"), with_interval(metrics, "base", k),
             with_interval(metrics, "trained", k), change_text(metrics, k)) for k in keys]


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """Every flat metric under its raw name (the "All metrics" table)."""
    base, trained, delta = metrics.get("base", {}), metrics.get("trained", {}), metrics.get("delta", {})
    keys = sorted(set(base) | set(trained), key=lambda k: (k.count("."), k))
    return [(k, fmt(k, base.get(k)), fmt(k, trained.get(k)), fmt_delta(k, delta.get(k))) for k in keys]


HEADLINE_METRICS = ("knowledge-qa.accuracy", "retention.accuracy", "rubric.score")


def headline_text(metrics: dict[str, Any]) -> list[str]:
    """The lines the console prints at the end of a run: before → after, interval, count, test."""
    lines = []
    for key in HEADLINE_METRICS:
        if key not in metrics.get("trained", {}):
            continue
        line = f"{human_name(key)}: {fmt(key, metrics['base'].get(key))} → {fmt(key, metrics['trained'][key])} ({change_text(metrics, key)})"
        n = question_count(metrics, key)
        if n:
            before, after = interval_text(metrics, "base", key), interval_text(metrics, "trained", key)
            line += f"; {n} questions" + (f", 95% interval {before} → {after}" if before and after else "")
        lines.append(line)
    return lines


def example_rows(run_dir: Path, limit: int = 5, learned: bool = True) -> list[dict[str, Any]]:
    """Questions training fixed (base wrong, trained right), or with ``learned=False`` broke."""
    base = _load(run_dir / "evaluation" / "base.json").get("details", {}).get("knowledge-qa", {})
    trained = _load(run_dir / "evaluation" / "trained.json").get("details", {}).get("knowledge-qa", {})
    before = {i.get("id"): i for i in base.get("items", []) if isinstance(i, dict)}
    rows = []
    for item in trained.get("items", []):
        prev = before.get(item.get("id")) if isinstance(item, dict) else None
        if prev is None or not isinstance(item.get("correct"), bool) or not isinstance(prev.get("correct"), bool):
            continue
        if item["correct"] == learned and prev["correct"] != learned:
            rows.append({"question": item.get("question", item.get("id")), "base": prev.get("chosen_text", prev.get("chosen")),
                         "trained": item.get("chosen_text", item.get("chosen"))})
        if len(rows) >= limit:
            break
    return rows


def write_loss_history(log_history: list[dict[str, Any]], out_dir: Path) -> Path:
    """Keep the (step, loss) and (step, eval_loss) entries of a trainer's log for the report."""
    keep = [{"step": int(e["step"]), name: round(float(e[name]), 5)} for e in log_history if "step" in e
            for name in ("loss", "eval_loss") if isinstance(e.get(name), int | float)]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / LOSS_HISTORY
    path.write_text(json.dumps(keep), encoding="utf-8")
    return path


def loss_series(run_dir: Path) -> dict[str, list[tuple[float, float]]]:
    """The run's training (and evaluation) loss by step, from ``model/loss_history.json``."""
    path = run_dir / "model" / LOSS_HISTORY
    entries = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    return {label: [(e["step"], e[name]) for e in entries if name in e]
            for label, name in (("training loss", "loss"), ("held-out loss", "eval_loss"))}


def collect(run_dir: Path) -> dict[str, Any]:
    manifest = _load(run_dir / "manifest.json")
    metrics = _load(run_dir / "metrics.json")
    if metrics.get("base") and "paired" not in metrics:  # written before the tests were stored
        from kinject.scoring import add_statistics

        details = [_load(run_dir / "evaluation" / f"{side}.json").get("details", {}) for side in ("base", "trained")]
        add_statistics(metrics, *details)
    return {"manifest": manifest, "metrics": metrics, "examples": example_rows(run_dir),
            "broken": example_rows(run_dir, learned=False), "loss": loss_series(run_dir)}


def render_markdown(data: dict[str, Any]) -> str:
    m, metrics = data["manifest"], data["metrics"]
    cfg = m.get("config", {})
    out = [f"# kinject run `{m.get('run_id', '')}`", "",
           f"Domain **{cfg.get('domain') or '–'}**, strategy **{cfg.get('strategy')}**, base model "
           f"**{cfg.get('base_model')}**, seed {cfg.get('seed')}.", ""]
    out += [f"- {line}" for line in headline_text(metrics)] + [""]
    out += eval_set_lines(m, metrics)
    out += ["## Results (same evaluators, base vs trained)", "",
            "| measure | questions | base | trained | change |", "|---|---|---|---|---|"]
    out += ["| " + " | ".join(row) + " |" for row in result_rows(metrics)]
    out += ["", READING_NOTE]
    out += paired_lines(metrics) + category_lines(metrics)
    out += training_lines(metrics.get("train", {}), data.get("loss") or {})
    out += example_lines(data["examples"], "Learned: questions the base model missed and the trained model gets right")
    out += example_lines(data.get("broken", []), "Broken: questions the base model got right and the trained model misses")
    out += data_lines(m)
    exports = m.get("stages", {}).get("export", {})
    if exports:
        out += ["", "## Exports", ""]
        out += [f"- **{name}**: {', '.join(v.get('paths', [])) or 'FAILED: ' + v.get('error', '')}" for name, v in exports.items()]
    out += ["", "## All metrics", "", "| metric | base | trained | change |", "|---|---|---|---|"]
    out += [f"| {k} | {b} | {t} | {d} |" for k, b, t, d in metric_rows(metrics)]
    out += ["", "## Reproduce", "", "```", " ".join(m.get("command", [])) or "inject", "```",
            "", "Resolved config, input hashes and library versions are in `manifest.json`."]
    return "\n".join(out) + "\n"


READING_NOTE = ("Percentages in brackets are 95% intervals (Wilson). A change is followed by the p-value of an exact "
                "McNemar test on the questions both models answered; \"within noise\" means p ≥ 0.05.")


def paired_lines(metrics: dict[str, Any]) -> list[str]:
    """Per evaluator: how many questions changed each way, and whether that is more than chance."""
    paired = metrics.get("paired") or {}
    if not paired:
        return []
    out = ["", "## Before and after, question by question", "",
           "| evaluator | questions | right before and after | only base right | only trained right | test |",
           "|---|---|---|---|---|---|"]
    for name, t in paired.items():
        out.append(f"| {human_name(name + '.accuracy')} | {t['n']} | {t['both']} | {t['base_only']} | "
                   f"{t['trained_only']} | {describe_p(t['p_value'])} |")
    return out


def category_lines(metrics: dict[str, Any], evaluator: str = "knowledge-qa") -> list[str]:
    """Accuracy per category; below MIN_CHARTED questions only ``k/n``."""
    prefix = f"{evaluator}.per_category."
    trained, base = metrics.get("trained", {}), metrics.get("base", {})
    cats = sorted({k[len(prefix):-len(".accuracy")] for k in trained if k.startswith(prefix) and k.endswith(".accuracy")})
    if len(cats) < 2:
        return []
    out = ["", "## Domain knowledge per category", "", "| category | questions | base | trained |", "|---|---|---|---|"]
    for cat in cats:
        key = f"{prefix}{cat}.accuracy"
        n = int(trained.get(f"{prefix}{cat}.n", 0))
        out.append(f"| {cat} | {n} | {share(base.get(key), n)} | {share(trained.get(key), n)} |")
    return out + ["", f"Categories with fewer than {MIN_CHARTED} questions are shown as right/asked, not as a percentage."]


def share(value: float | None, n: int) -> str:
    """``3/4`` for a small count, ``62.5% (5/8)`` otherwise."""
    if value is None or not n:
        return "–"
    hits = round(value * n)
    return f"{hits}/{n}" if n < MIN_CHARTED else f"{value * 100:.1f}% ({hits}/{n})"


def training_lines(train: dict[str, Any], loss: dict[str, list[tuple[float, float]]]) -> list[str]:
    out = truncation_lines(train)
    if not train:
        return out
    out += ["", "## Training", ""]
    if "dp_epsilon" in train:
        out += [f"Trained with differential privacy (DP-SGD): ε = {train['dp_epsilon']:.2f} at "
                f"δ = {train['dp_delta']:.2g} (noise multiplier {train['dp_noise_multiplier']:.3g}, "
                f"clipping norm {train['dp_max_grad_norm']:g}, sample rate "
                f"{train['dp_sample_rate']:.3g}, {train['dp_steps']} steps).", ""]
    points = loss.get("training loss") or []
    if points:
        out += [f"Training loss {points[0][1]:.3g} at step {points[0][0]:g} → {points[-1][1]:.3g} at step "
                f"{points[-1][0]:g} ({len(points)} logged points, `model/{LOSS_HISTORY}`).", ""]
    out += ["| measure | value | name in metrics.json |", "|---|---|---|"]
    return out + [f"| {TRAINING_MEASURES.get(k, k.replace('_', ' ').capitalize())} | "
                  f"{f'{v:,}' if isinstance(v, int) and not isinstance(v, bool) else fmt(k, v)} | `{k}` |"
                  for k, v in train.items() if not isinstance(v, dict | list)]


def example_lines(rows: list[dict[str, Any]], title: str) -> list[str]:
    if not rows:
        return []
    out = ["", f"## {title}", "", "| question | base answered | trained answered |", "|---|---|---|"]
    return out + [f"| {_cell(e['question'])} | {_cell(e['base'])} | {_cell(e['trained'])} |" for e in rows]


def _cell(value: Any) -> str:
    """Table-safe text: a ``|`` or a line break would split the row."""
    return str(value).replace("|", "/").replace("\n", " ")


def data_lines(manifest: dict[str, Any]) -> list[str]:
    out = ["", "## Data", "", "| stage | records | time (s) | dropped / quarantined |", "|---|---|---|---|"]
    for stage, stats in manifest.get("stages", {}).items():
        if isinstance(stats, dict) and "records" in stats:
            notes = {**stats.get("quarantined", {}), **_flat_drops(stats.get("dropped", {}))}
            reasons = ", ".join(f"{k}: {v}" for k, v in notes.items()) or "–"
            cached = " (cached)" if stats.get("skipped") else ""
            out.append(f"| {stage}{cached} | {stats['records']} | {stats.get('seconds', '–')} | {reasons} |")
    return out


def eval_set_lines(manifest: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    """Where the questions came from, how many, and the gain on what the base model did not know."""
    origin = manifest.get("eval_set") or metrics.get("eval_set") or {}
    out: list[str] = []
    if origin:
        out += ["## What the knowledge questions measure", "", f"Questions: {origin.get('label', '–')} "
                "(written to `eval_set.jsonl`: review, correct and reuse it with `--set eval_set=FILE`)."]
        if origin.get("warning"):
            out += ["", f"**{origin['warning'].removeprefix('warning: ')}**"]
    knowledge = metrics.get("knowledge") or {}
    n = knowledge.get("n", 0)
    if n:
        out += ["", "| questions | n | trained correct | 95% interval |", "|---|---|---|---|"]
        for key, label in (("unknown_to_base", "the base model got wrong"), ("known_to_base", "the base model already got right")):
            part = knowledge.get(key) or {}
            low, high = part.get("interval95") or (0.0, 0.0)
            acc = part.get("trained_accuracy")
            shown = "–" if acc is None else f"{part['trained_correct']}/{part['n']} ({acc * 100:.1f}%)"
            out.append(f"| {label} | {part.get('n', 0)} | {shown} | {low * 100:.1f}–{high * 100:.1f}% |")
        if n < 100:
            out += ["", f"With {n} questions one question is {100 / n:.1f} points: differences of a few points are noise."]
    return out + ([""] if out else [])


def truncation_lines(train: dict[str, Any]) -> list[str]:
    total, cut = train.get("tokens"), train.get("tokens_truncated")
    if not total:
        return []
    line = f"Training text: {total:,} tokens, {cut or 0:,} ({(cut or 0) / total:.2%}) beyond the trainer's max_length and not trained on."
    return ["", line]


def _flat_drops(dropped: dict[str, Any]) -> dict[str, Any]:
    return {f"{c}:{r}": n for c, reasons in dropped.items() for r, n in reasons.items()}


def render_html(markdown_text: str, data: dict[str, Any]) -> str:
    """A self-contained page: the markdown sections as HTML, a before/after chart, the loss curve."""
    from kinject.svg_charts import line_chart

    parts = []
    for heading, text in _sections(markdown_text):
        body = _md_to_html(text)
        if heading == "All metrics":
            inner = _md_to_html(text.split("\n", 1)[1])
            body = f"<h2>All metrics</h2>\n<details><summary>Every metric under its raw name</summary>\n{inner}\n</details>"
        elif heading == "Training":
            curve = line_chart(data.get("loss") or {}, "step", "loss", "Training loss")
            body = body.replace("</h2>", "</h2>\n" + curve, 1)
        parts.append(body)
    body = "\n".join(parts).replace("<h2>", bar_chart(data["metrics"]) + "<h2>", 1)
    return HTML_PAGE.format(title=html.escape(data["manifest"].get("run_id", "kinject run")), chart="", body=body)


def _sections(text: str) -> list[tuple[str, str]]:
    """(heading, markdown) per ``## `` section; the part before the first has heading ""."""
    out: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if line.startswith("## "):
            out.append((line[3:].strip(), []))
        out[-1][1].append(line)
    return [(heading, "\n".join(lines)) for heading, lines in out]


def bar_chart(metrics: dict[str, Any]) -> str:
    """Inline SVG: base vs trained for the main proportion metrics, each with its 95% interval."""
    trained = metrics.get("trained", {})
    keys = [k for k in main_metrics(list(trained)) if interval_text(metrics, "trained", k)]
    if not keys:
        return ""
    row_h, width, x0 = 48, 340, 390
    parts = [f'<svg class="chart" role="img" aria-label="base vs trained" width="{x0 + width + 180}" height="{row_h * len(keys) + 30}">']
    for i, key in enumerate(keys):
        y = 10 + i * row_h
        for j, (side, color) in enumerate((("base", "#9aa5b1"), ("trained", "#2f6fde"))):
            value = metrics.get(side, {}).get(key) or 0.0
            n = count_of(metrics.get(side, {}), key) or 0
            low, high = wilson_interval(round(value * n), n) if n else (value, value)
            top = y + j * 18
            parts.append(f'<rect x="{x0}" y="{top}" width="{value * width:.1f}" height="16" fill="{color}"/>')
            parts.append(f'<line class="interval" x1="{x0 + low * width:.1f}" x2="{x0 + high * width:.1f}" y1="{top + 8}" '
                         f'y2="{top + 8}" stroke="#1f2933" stroke-width="1.5"/>')
            parts.append(f'<text x="{x0 + 6 + max(value, high) * width:.1f}" y="{top + 12}" font-size="11">{side} '
                         f'{value * 100:.1f}% ({low * 100:.0f}–{high * 100:.0f}%)</text>')
        parts.append(f'<text x="0" y="{y + 16}" font-size="12">{html.escape(human_name(key))}</text>')
        parts.append(f'<text x="0" y="{y + 31}" font-size="11" fill="#52606d">{question_count(metrics, key)} questions</text>')
    parts.append("</svg>")
    return "".join(parts)


def _md_to_html(text: str) -> str:
    out, table = [], False
    for line in text.splitlines():
        if line.startswith("|"):
            cells = [html.escape(c.strip()) for c in line.strip("|").split("|")]
            if set("".join(cells)) <= {"-"}:
                continue
            tag = "th" if not table else "td"
            if not table:
                out.append("<table>")
                table = True
            out.append("<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>")
            continue
        if table:
            out.append("</table>")
            table = False
        if line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("- "):
            out.append(f"<p class='item'>{html.escape(line[2:]).replace('**', '')}</p>")
        elif line.strip() and line.strip() != "```":
            out.append(f"<p>{html.escape(line).replace('**', '')}</p>")
    if table:
        out.append("</table>")
    return "\n".join(out)


HTML_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 980px; margin: 2em auto; color: #1f2933; }}
table {{ border-collapse: collapse; margin: 1em 0; width: 100%; }}
th, td {{ border: 1px solid #d9e2ec; padding: 6px 10px; text-align: left; font-size: 14px; }}
th {{ background: #f0f4f8; }}
p.item {{ font-size: 17px; font-weight: 600; margin: .3em 0; }}
details summary {{ cursor: pointer; color: #3e4c59; }}
.chart {{ margin: 1em 0; }}
</style></head>
<body>
{chart}
{body}
</body></html>
"""


def write_report(run_dir: Path) -> Path:
    """Write report.md and report.html; returns the markdown path."""
    data = collect(run_dir)
    text = redact_text(render_markdown(data))
    (run_dir / "report.md").write_text(text, encoding="utf-8")
    (run_dir / "report.html").write_text(render_html(text, data), encoding="utf-8")
    return run_dir / "report.md"
