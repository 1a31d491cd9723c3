"""The run report: ``report.md`` and a self-contained ``report.html`` from the run directory."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

PERCENT_HINTS = ("accuracy", "score", "em", "contains", "f1", "rouge", "retention")


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


def metric_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    base, trained, delta = metrics.get("base", {}), metrics.get("trained", {}), metrics.get("delta", {})
    # ".n" rows (item counts) are bookkeeping, not results
    keys = sorted((k for k in set(base) | set(trained) if not k.endswith(".n")), key=lambda k: (k.count("."), k))
    return [(k, fmt(k, base.get(k)), fmt(k, trained.get(k)), fmt_delta(k, delta.get(k))) for k in keys]


def headline_text(metrics: dict[str, Any]) -> list[str]:
    lines = []
    for key, label in (("knowledge-qa.accuracy", "Domain knowledge (held-out questions)"),
                       ("retention.accuracy", "General knowledge retained"),
                       ("rubric.score", "Rubric score")):
        if key in metrics.get("trained", {}):
            b, t = metrics["base"].get(key), metrics["trained"][key]
            n = metrics["trained"].get(key.rsplit(".", 1)[0] + ".n")
            count = f"; {int(n)} questions" if n else ""
            lines.append(f"{label}: {fmt(key, b)} → {fmt(key, t)} ({fmt_delta(key, metrics['delta'].get(key))}{count})")
    return lines


def example_rows(run_dir: Path, limit: int = 6) -> list[dict[str, Any]]:
    """Questions the trained model gets right and the base model got wrong."""
    base = _load(run_dir / "evaluation" / "base.json").get("details", {}).get("knowledge-qa", {})
    trained = _load(run_dir / "evaluation" / "trained.json").get("details", {}).get("knowledge-qa", {})
    before = {i.get("id"): i for i in base.get("items", []) if isinstance(i, dict)}
    rows = []
    for item in trained.get("items", []):
        if not isinstance(item, dict):
            continue
        prev = before.get(item.get("id"), {})
        if item.get("correct") and not prev.get("correct"):
            rows.append({"question": item.get("question", item.get("id")), "base": prev.get("chosen_text", prev.get("chosen")),
                         "trained": item.get("chosen_text", item.get("chosen"))})
        if len(rows) >= limit:
            break
    return rows


def collect(run_dir: Path) -> dict[str, Any]:
    manifest = _load(run_dir / "manifest.json")
    metrics = _load(run_dir / "metrics.json")
    return {"manifest": manifest, "metrics": metrics, "examples": example_rows(run_dir)}


def render_markdown(data: dict[str, Any]) -> str:
    m, metrics = data["manifest"], data["metrics"]
    cfg = m.get("config", {})
    out = [f"# kinject run `{m.get('run_id', '')}`", "",
           f"Domain **{cfg.get('domain') or '–'}**, strategy **{cfg.get('strategy')}**, base model "
           f"**{cfg.get('base_model')}**, seed {cfg.get('seed')}.", ""]
    out += [f"- {line}" for line in headline_text(metrics)] + [""]
    out += eval_set_lines(m, metrics)
    out += ["## Metrics (same evaluators, base vs trained)", "", "| metric | base | trained | change |", "|---|---|---|---|"]
    out += [f"| {k} | {b} | {t} | {d} |" for k, b, t, d in metric_rows(metrics)]
    out += ["", "## Data", "", "| stage | records | time (s) | dropped / quarantined |", "|---|---|---|---|"]
    for stage, stats in m.get("stages", {}).items():
        if isinstance(stats, dict) and "records" in stats:
            notes = {**stats.get("quarantined", {}), **_flat_drops(stats.get("dropped", {}))}
            reasons = ", ".join(f"{k}: {v}" for k, v in notes.items()) or "–"
            cached = " (cached)" if stats.get("skipped") else ""
            out.append(f"| {stage}{cached} | {stats['records']} | {stats.get('seconds', '–')} | {reasons} |")
    train = metrics.get("train", {})
    out += truncation_lines(train)
    if train:
        out += ["", "## Training", "", "| measure | value |", "|---|---|"]
        out += [f"| {k} | {fmt(k, v)} |" for k, v in train.items() if not isinstance(v, dict | list)]
    if data["examples"]:
        out += ["", "## Learned: questions the base model missed", "", "| question | base answered | trained answered |", "|---|---|---|"]
        out += [f"| {e['question']} | {e['base']} | {e['trained']} |" for e in data["examples"]]
    exports = m.get("stages", {}).get("export", {})
    if exports:
        out += ["", "## Exports", ""]
        out += [f"- **{name}**: {', '.join(v.get('paths', [])) or 'FAILED: ' + v.get('error', '')}" for name, v in exports.items()]
    out += ["", "## Reproduce", "", "```", " ".join(m.get("command", [])) or "inject", "```",
            "", "Resolved config, input hashes and library versions are in `manifest.json`."]
    return "\n".join(out) + "\n"


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
    """A self-contained page: the markdown sections as HTML tables plus a before/after chart."""
    body = _md_to_html(markdown_text)
    body = body.replace("<h2>", bar_chart(data["metrics"]) + "<h2>", 1)
    return HTML_PAGE.format(title=html.escape(data["manifest"].get("run_id", "kinject run")), chart="", body=body)


def bar_chart(metrics: dict[str, Any]) -> str:
    """Inline SVG: base vs trained for accuracy-like metrics in [0, 1]."""
    keys = [k for k in metrics.get("trained", {}) if k.count(".") == 1 and 0 <= metrics["trained"][k] <= 1
            and k.rsplit(".", 1)[-1] in ("accuracy", "score", "em", "contains", "f1")]
    if not keys:
        return ""
    row_h, width = 44, 360
    parts = [f'<svg class="chart" role="img" aria-label="base vs trained" width="{width + 260}" height="{row_h * len(keys) + 30}">']
    for i, key in enumerate(keys):
        y = 10 + i * row_h
        for j, (label, color) in enumerate((("base", "#9aa5b1"), ("trained", "#2f6fde"))):
            value = metrics.get(label, {}).get(key) or 0.0
            parts.append(f'<rect x="200" y="{y + j * 18}" width="{value * width:.1f}" height="16" fill="{color}"/>')
            parts.append(f'<text x="{205 + value * width:.1f}" y="{y + j * 18 + 12}" font-size="11">{label} {value * 100:.1f}%</text>')
        parts.append(f'<text x="0" y="{y + 22}" font-size="12">{html.escape(key)}</text>')
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
    text = render_markdown(data)
    (run_dir / "report.md").write_text(text, encoding="utf-8")
    (run_dir / "report.html").write_text(render_html(text, data), encoding="utf-8")
    return run_dir / "report.md"
