"""Faults injected into whole runs, and what kinject did: one table (docs/reliability.md).

    python bench/faults.py                         # every check, 10 kill trials
    python bench/faults.py --quick                 # the fast part (2 kill trials, few fuzz
    examples)
    python bench/faults.py --trials 20 --json runs/faults.json --docs docs/reliability.md

A run is ``python -m kinject`` on a tiny random model and a small corpus (``fault_runs.py``
builds both): every stage, from ingest with two workers to the adapter export. Checks:

- kill -9: the run is killed at a random moment, or the moment a stage output or a checkpoint
  directory appears on disk, then re-run with ``--resume`` until it finishes; the data files and
  the adapter are compared with an uninterrupted run's.
- broken checkpoint: the last checkpoint is cut short or loses a file; ``--resume`` must continue
  from the previous complete one and say so in one line.
- disk full: ``ENOSPC`` is raised by one stage's writer; the run must stop with a one-line error,
  leave the earlier stages' files as they were, and finish when re-run.
- fuzzing: the hypothesis targets of ``tests/plugins/sources/test_fuzz_sources.py`` and
  ``test_fuzz_recipe.py`` (every source's parser and the recipe loader).
- determinism: two runs with the same seed, and a run with one ingest worker instead of two, must
  write byte-identical ``data/*.jsonl`` and the same training losses to 1e-6.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fault_runs import (  # noqa: E402
    DAMAGES,
    DISK_FULL_STAGES,
    ROOT,
    Trial,
    build_setup,
    checkpoint_trial,
    determinism_trials,
    disk_full_trial,
    kill_points,
    kill_trial,
    reference_run,
)

# -- fuzzing ---------------------------------------------------------------------------------------


def fuzz_trials(examples: int) -> list[Trial]:
    """Each hypothesis target of the source and recipe fuzz tests, ``examples`` inputs each."""
    logging.getLogger("pdfminer").setLevel(logging.ERROR)  # a warning per broken PDF object
    folder = ROOT / "tests" / "plugins" / "sources"
    sys.path.insert(0, str(folder))
    spec = importlib.util.spec_from_file_location(
        "test_fuzz_sources", folder / "test_fuzz_sources.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["test_fuzz_sources"] = module
    spec.loader.exec_module(module)
    trials = []
    for name in [*module.SOURCE_TARGETS, "recipe loader"]:
        trial = Trial("fuzzing (hypothesis)", name)
        counts: dict[str, int] = {}
        try:
            module.fuzz(name, examples, counts)
        except Exception as exc:  # a falsifying example: the one failure this check reports
            trial.problems.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        top = sorted(counts.items(), key=lambda kv: -kv[1])[:3]
        trial.killed_in = ", ".join(f"{k} {v}" for k, v in top)
        trial.resumes = sum(counts.values())
        trials.append(trial)
    return trials


# -- the table
# ---------------------------------------------------------------------------------------

INJECTED = {
    "kill -9, then --resume": "SIGKILL as each of {points} runs, and at {random} random moments; "
    "then `inject --resume`",
    "broken last checkpoint": "kill -9 after 3 checkpoints, then the newest one damaged: {points}",
    "disk full (ENOSPC) while a stage writes": "`OSError(ENOSPC)` from the writer of {points}",
    "fuzzing (hypothesis)": "generated and mutated inputs for {points}",
    "same inputs and seed": "{points}",
}
EXPECTED = {
    "kill -9, then --resume": "finishes; data/*.jsonl, record ids and quarantine byte-identical; "
    "adapter within 1e-4; no half-written file",
    "broken last checkpoint": "one notice line; resumes from the previous complete checkpoint; "
    "adapter within 1e-4",
    "disk full (ENOSPC) while a stage writes": "one `Error:` line naming the file; earlier "
    "stages' files unchanged; no half file; a re-run "
    "finishes identical",
    "fuzzing (hypothesis)": "Records, or quarantined with a reason (`InputError`); recipes load "
    "or fail with one `ConfigError` line",
    "same inputs and seed": "byte-identical data/*.jsonl; every training loss within 1e-6",
}


def table(trials: list[Trial], command: str) -> str:
    """The markdown table: one row per check."""
    rows = ["| check | injected | trials | result | expected |", "|---|---|---|---|---|"]
    for check in dict.fromkeys(t.check for t in trials):
        mine = [t for t in trials if t.check == check]
        failed = [t for t in mine if t.problems]
        named = [t.point for t in mine if not t.point.startswith("random")]
        injected = INJECTED[check].format(
            points=", ".join(dict.fromkeys(named)), random=len(mine) - len(named)
        )
        count = (
            f"{sum(t.resumes for t in mine)} inputs"
            if check.startswith("fuzzing")
            else str(len(mine))
        )
        result = f"{len(mine) - len(failed)}/{len(mine)} passed"
        if check.startswith("kill"):
            landed = Counter(t.killed_in for t in mine)
            result += "; killed in " + ", ".join(f"{k} ×{v}" for k, v in landed.items())
        if check.startswith("same inputs"):
            result += "".join(f"; {t.point}: {t.killed_in}" for t in mine)
        result += "".join(f"; FAILED {t.point}: {t.problems[0]}" for t in failed[:3])
        rows.append(f"| {check} | {injected} | {count} | {result} | {EXPECTED[check]} |")
    return "\n".join(rows) + f"\n\nCommand: `{command}`"


def write_docs(path: Path, text: str) -> None:
    """Replace the table between the ``faults table`` markers of ``path``."""
    begin, end = "<!-- faults table: begin -->", "<!-- faults table: end -->"
    doc = path.read_text(encoding="utf-8")
    if begin not in doc or end not in doc:
        raise SystemExit(f"{path}: no '{begin}' ... '{end}' markers to put the table between")
    head, rest = doc.split(begin, 1)
    path.write_text(
        head + begin + "\n" + text + "\n" + end + rest.split(end, 1)[1], encoding="utf-8"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--trials", type=int, default=10, help="kill -9 trials (default 10; 2 with --quick)"
    )
    parser.add_argument(
        "--fuzz-examples",
        type=int,
        default=300,
        help="inputs per fuzz target (default 300; 20 with --quick)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="the fast part: 2 kill trials, 1 of each other fault, 20 fuzz inputs",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random kill moments")
    parser.add_argument("--json", type=Path, help="also write every trial as JSON here")
    parser.add_argument(
        "--docs", type=Path, help="put the table into this Markdown file (between its markers)"
    )
    parser.add_argument(
        "--keep", type=Path, help="keep the runs in this folder (default: a temporary one)"
    )
    args = parser.parse_args()
    trials_n = 2 if args.quick and args.trials == 10 else args.trials
    examples = 20 if args.quick and args.fuzz_examples == 300 else args.fuzz_examples
    folder = args.keep or Path(tempfile.mkdtemp(prefix="kinject-faults-"))
    start = time.perf_counter()
    setup = build_setup(folder)
    ref = reference_run(setup)
    print(f"uninterrupted run: {ref.seconds:.1f} s", file=sys.stderr)
    results: list[Trial] = []
    for n, point in enumerate(kill_points(trials_n, random.Random(args.seed), ref.seconds)):
        results.append(report(kill_trial(setup, ref, n, point)))
    damages = list(DAMAGES)[:1] if args.quick else list(DAMAGES)
    results += [report(checkpoint_trial(setup, ref, n, d)) for n, d in enumerate(damages)]
    stages = DISK_FULL_STAGES[2:3] if args.quick else DISK_FULL_STAGES
    results += [report(disk_full_trial(setup, ref, n, s)) for n, s in enumerate(stages)]
    results += [report(t) for t in determinism_trials(setup, ref)]
    results += [report(t) for t in fuzz_trials(examples)]
    text = table(
        results,
        f"python bench/faults.py --trials {trials_n} --fuzz-examples {examples} --seed {args.seed}",
    )
    print(text)
    print(
        f"\n{sum(not t.problems for t in results)}/{len(results)} trials passed in "
        f"{time.perf_counter() - start:.0f} s (one uninterrupted run: {ref.seconds:.1f} s)"
    )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"trials": [asdict(t) for t in results], "reference_s": ref.seconds}, indent=2
            ),
            encoding="utf-8",
        )
    if args.docs:
        write_docs(args.docs, text)
    if args.keep is None:
        shutil.rmtree(folder, ignore_errors=True)
    sys.exit(1 if any(t.problems for t in results) else 0)


def report(trial: Trial) -> Trial:
    status = "ok" if not trial.problems else "FAILED: " + "; ".join(trial.problems)
    print(f"{trial.check} | {trial.point} | {trial.killed_in} | {status}", file=sys.stderr)
    return trial


if __name__ == "__main__":
    main()
