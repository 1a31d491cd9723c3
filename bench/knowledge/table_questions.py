"""How often a table question is asked of two different values, per half of a suite.

    python bench/knowledge/table_questions.py bench/results/suites/tatqa [--json PATH]

A question that two cells answer with different values ("What is APAC for Net Sales?" of both
years) teaches neither. For each half of the suite (``tune``, ``held_out``), every Markdown table
of its documents is read by ``qa-generate``'s table reader; printed: the cells, the cells whose
question another cell with another value shares, and the human table questions of the suite
whose answer is a cell asked by a question of one value.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from suite_format import HALVES, read_suite

from kinject_plugins.augmenters.tables import cell_question, table_cells


def _norm(value: str) -> str:
    return value.replace(" ", "").lstrip("$")


def measure(suite_dir: Path) -> dict[str, dict[str, int]]:
    suite = read_suite(suite_dir)
    items: dict[str, list[dict[str, Any]]] = {}
    for line in suite.eval_path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            items.setdefault(item["meta"]["document"], []).append(item)
    out = {
        half: dict.fromkeys(("cells", "shared", "table_questions", "answer_is_a_cell", "clear"), 0)
        for half in HALVES
    }
    for path in suite.documents:
        figures = out[suite.halves.get(path.stem, "tune")]
        values: dict[str, set[str]] = {}
        cells = table_cells(path.read_text(encoding="utf-8"))
        for cell in cells:
            values.setdefault(cell_question(cell), set()).add(_norm(cell.value))
        figures["cells"] += sum(len(v) for v in values.values())
        figures["shared"] += sum(len(v) for v in values.values() if len(v) > 1)
        for item in items.get(path.stem, []):
            if not str(item["meta"].get("answer_from", "")).startswith("table"):
                continue
            answer = _norm(item["choices"][item["answer"]])
            mine = [c for c in cells if _norm(c.value) == answer]
            figures["table_questions"] += 1
            figures["answer_is_a_cell"] += bool(mine)
            figures["clear"] += any(len(values[cell_question(c)]) == 1 for c in mine)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("suite", type=Path)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    figures = measure(args.suite)
    print(
        "| half | cells | sharing a question with another value | table questions "
        "| answer is a cell | asked by a one-value question |"
    )
    print("|---|---|---|---|---|---|")
    for half, f in figures.items():
        share = f"{f['shared']} ({100 * f['shared'] / max(f['cells'], 1):.1f}%)"
        print(
            f"| {half} | {f['cells']} | {share} | {f['table_questions']} | "
            f"{f['answer_is_a_cell']} | {f['clear']} |"
        )
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
