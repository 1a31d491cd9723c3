"""The run report as one self-contained HTML page (``report.html``).

The page holds the markdown report's sections, a before/after bar chart with 95% intervals and
the training loss curve.
"""

from __future__ import annotations

import html
from typing import Any

from kinject.metric_names import human_name, main_metrics
from kinject.report_format import interval_text, question_count
from kinject.stats import count_of, wilson_interval


def render_html(markdown_text: str, data: dict[str, Any]) -> str:
    """A self-contained page: the markdown sections as HTML, a before/after chart, the loss
    curve.
    """
    from kinject.svg_charts import line_chart

    parts = []
    for heading, text in _sections(markdown_text):
        body = md_to_html(text)
        if heading == "All metrics":
            inner = md_to_html(text.split("\n", 1)[1])
            body = (
                "<h2>All metrics</h2>\n<details><summary>Every metric under its raw "
                f"name</summary>\n{inner}\n</details>"
            )
        elif heading == "Training":
            curve = line_chart(data.get("loss") or {}, "step", "loss", "Training loss")
            body = body.replace("</h2>", "</h2>\n" + curve, 1)
        parts.append(body)
    body = "\n".join(parts).replace("<h2>", bar_chart(data["metrics"]) + "<h2>", 1)
    return HTML_PAGE.format(
        title=html.escape(data["manifest"].get("run_id", "kinject run")), chart="", body=body
    )


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
    parts = [
        f'<svg class="chart" role="img" aria-label="base vs trained" width="{x0 + width + 180}" '
        f'height="{row_h * len(keys) + 30}">'
    ]
    for i, key in enumerate(keys):
        y = 10 + i * row_h
        for j, (side, color) in enumerate((("base", "#9aa5b1"), ("trained", "#2f6fde"))):
            value = metrics.get(side, {}).get(key) or 0.0
            n = count_of(metrics.get(side, {}), key) or 0
            low, high = wilson_interval(round(value * n), n) if n else (value, value)
            top = y + j * 18
            parts.append(
                f'<rect x="{x0}" y="{top}" width="{value * width:.1f}" height="16" fill="{color}"/>'
            )
            parts.append(
                f'<line class="interval" x1="{x0 + low * width:.1f}" x2="{x0 + high * width:.1f}" '
                f'y1="{top + 8}" '
                f'y2="{top + 8}" stroke="#1f2933" stroke-width="1.5"/>'
            )
            parts.append(
                f'<text x="{x0 + 6 + max(value, high) * width:.1f}" y="{top + 12}" '
                f'font-size="11">{side} '
                f"{value * 100:.1f}% ({low * 100:.0f}–{high * 100:.0f}%)</text>"
            )
        parts.append(
            f'<text x="0" y="{y + 16}" font-size="12">{html.escape(human_name(key))}</text>'
        )
        parts.append(
            f'<text x="0" y="{y + 31}" font-size="11" '
            f'fill="#52606d">{question_count(metrics, key)} questions</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def md_to_html(text: str) -> str:
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
