"""The runs ``bench/faults.py`` injects faults into, and the checks of what they leave behind.

A run is ``python -m kinject`` on a tiny random model (built from a config, offline) and a small
corpus written here (Markdown, JSON and CSV files of made-up facts, and two bad files): ingest
with two workers, cleaners, chunk, augment (rules backend), split, LoRA training with a
checkpoint every few steps, knowledge-qa evaluation, adapter export. Every faulted run is
compared with one uninterrupted run of the same recipe (:class:`Reference`).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
#: the tolerance of tests/plugins/trainers/test_sft.py's kill-and-resume test
ADAPTER_ATOL = 1e-4
LOSS_ATOL = 1e-6
FACTS = [
    (
        "Harbor Court",
        "hears appeals within 21 days of judgment",
        "Within how many days does the Harbor Court hear appeals?",
        ["7 days", "14 days", "21 days", "30 days"],
        2,
    ),
    (
        "Tenancy Act",
        "requires 45 days notice before a tenant leaves",
        "How much notice must a tenant give under the Tenancy Act?",
        ["10 days", "45 days", "60 days", "90 days"],
        1,
    ),
    (
        "Quell River Board",
        "meets on the first Tuesday of each month",
        "When does the Quell River Board meet?",
        ["every Friday", "the first Tuesday of each month", "twice a year", "the last Monday"],
        1,
    ),
    (
        "Amber Registry",
        "keeps land titles for 80 years",
        "For how long does the Amber Registry keep land titles?",
        ["10 years", "25 years", "80 years", "forever"],
        2,
    ),
    (
        "Teal Commission",
        "was founded by Judge Imra Solt in 1911",
        "Who founded the Teal Commission?",
        ["Judge Imra Solt", "Queen Talia", "Mayor Brun", "Judge Marek Oss"],
        0,
    ),
    (
        "Sorrow Bridge toll",
        "is 3 velors for a cart",
        "What is the Sorrow Bridge toll for a cart?",
        ["1 velor", "3 velors", "12 velors", "30 velors"],
        1,
    ),
]


# -- the run under test ---------------------------------------------------------------------------


def write_corpus(folder: Path) -> tuple[Path, Path]:
    """A small corpus of three kinds of files (Markdown, JSON, CSV), two bad files, an eval set."""
    corpus = folder / "corpus"
    corpus.mkdir(parents=True, exist_ok=True)
    for i, (name, fact, *_rest) in enumerate(FACTS):
        (corpus / f"{i:02d}_{name.lower().replace(' ', '_')}.md").write_text(
            f"# {name}\n\nThe {name} {fact}. This rule was confirmed by the council in its yearly "
            "review.\n\n"
            f"## Notes\n\nRecords of the {name} are public. The {name} {fact}, as the council "
            "noted.\n",
            encoding="utf-8",
        )
    rows = [{"text": f"The {name} {fact}.", "topic": name} for name, fact, *_ in FACTS]
    (corpus / "summary.json").write_text(json.dumps(rows, indent=1), encoding="utf-8")
    lines = ["text,topic", *(f'"In short, the {name} {fact}.",{name}' for name, fact, *_ in FACTS)]
    (corpus / "summary.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # two bad inputs, so that quarantine.jsonl has entries a re-run could lose or repeat
    (corpus / "broken.json").write_text('[{"text": "cut off', encoding="utf-8")
    (corpus / "empty.md").write_text("", encoding="utf-8")
    eval_set = folder / "eval.jsonl"
    with eval_set.open("w", encoding="utf-8") as f:
        for i, (_, _, question, choices, answer) in enumerate(FACTS):
            f.write(
                json.dumps(
                    {"id": f"q{i}", "question": question, "choices": choices, "answer": answer}
                )
                + "\n"
            )
    return corpus, eval_set


@dataclass
class Setup:
    """Everything a run needs, built once: the tiny model, the corpus and a recipe per variant."""

    folder: Path
    model: Path
    corpus: Path
    eval_set: Path
    max_steps: int = 24
    save_steps: int = 4

    def recipe(self, run_dir: Path, workers: int = 2, seed: int = 7) -> Path:
        recipe = {
            "corpus": [str(self.corpus)],
            "eval_set": str(self.eval_set),
            "base_model": str(self.model),
            "sources": {"ingest": {"workers": workers}},
            "cleaners": ["normalize", "exact-dedup"],
            "augmenters": [{"name": "paraphrase", "k": 2}, "qa-generate"],
            "augment": {"backend": "rules"},
            "evaluators": ["knowledge-qa"],
            "exporters": ["adapter"],
            "forgetting": False,
            "seed": seed,
            "run_dir": str(run_dir),
            "trainer": {
                "max_steps": self.max_steps,
                "save_steps": self.save_steps,
                "batch_size": 2,
                "max_length": 128,
                "logging_steps": 1,
                "report_to": [],
                "learning_rate": 3e-3,
            },
        }
        path = run_dir.with_name(run_dir.name + ".yaml")
        path.write_text(yaml.safe_dump(recipe), encoding="utf-8")
        return path


def build_setup(folder: Path) -> Setup:
    from kinject.models import build_tiny_model

    model = build_tiny_model(folder / "tiny-model")
    corpus, eval_set = write_corpus(folder)
    return Setup(folder, model, corpus, eval_set)


def inject(recipe: Path, log: Path, *extra: str, quiet: bool = True) -> subprocess.Popen[bytes]:
    """``python -m kinject --config RECIPE [-q]`` in the background, its output in ``log``."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kinject",
                "--config",
                str(recipe),
                *(["-q"] if quiet else []),
                *extra,
            ],
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(recipe.parent),
        )


def child_env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "KINJECT_LOAD_PLUGINS": "", "HF_HUB_OFFLINE": "1"}


def run_to_end(recipe: Path, log: Path, *extra: str, quiet: bool = True) -> int:
    return inject(recipe, log, *extra, quiet=quiet).wait(timeout=900)


# -- what a finished run holds --------------------------------------------------------------------


def data_hashes(run_dir: Path) -> dict[str, str]:
    """sha256 of every ``data/*.jsonl`` file."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((run_dir / "data").glob("*.jsonl"))
    }


def record_ids(run_dir: Path) -> dict[str, list[str]]:
    out = {}
    for path in sorted((run_dir / "data").glob("*.jsonl")):
        out[path.name] = [
            json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line
        ]
    return out


def adapter_weights(run_dir: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(run_dir / "model" / "final" / "adapter_model.safetensors"))


def adapter_difference(a: Path, b: Path) -> float:
    """The largest absolute difference between two runs' final adapters (inf: other tensors)."""
    wa, wb = adapter_weights(a), adapter_weights(b)
    if wa.keys() != wb.keys():
        return float("inf")
    return max((wa[k].float() - wb[k].float()).abs().max().item() for k in wa)


def training_losses(run_dir: Path) -> list[float]:
    """The loss of every logged training step, from ``logs/training.log``."""
    losses = []
    for line in (run_dir / "logs" / "training.log").read_text(encoding="utf-8").splitlines():
        entry = json.loads(line[line.index("{") :])  # after the time stamp
        if "loss" in entry:
            losses.append(float(entry["loss"]))
    return losses


def leftovers(run_dir: Path) -> list[str]:
    """Half-written files a finished run must not hold (``*.partial`` staging files)."""
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*.partial"))


def quarantine_lines(run_dir: Path) -> list[str]:
    path = run_dir / "quarantine.jsonl"
    return sorted(path.read_text(encoding="utf-8").splitlines()) if path.exists() else []


@dataclass
class Reference:
    """The uninterrupted run every faulted run is compared with."""

    run_dir: Path
    seconds: float
    hashes: dict[str, str]
    ids: dict[str, list[str]]
    quarantine: list[str]


def reference_run(setup: Setup) -> Reference:
    run_dir = setup.folder / "reference"
    start = time.perf_counter()
    code = run_to_end(setup.recipe(run_dir), setup.folder / "reference.log")
    if code != 0:
        raise SystemExit(
            f"the uninterrupted run failed (exit {code}): see {setup.folder / 'reference.log'}"
        )
    return Reference(
        run_dir,
        time.perf_counter() - start,
        data_hashes(run_dir),
        record_ids(run_dir),
        quarantine_lines(run_dir),
    )


def differences(run_dir: Path, ref: Reference) -> list[str]:
    """What a finished faulted run holds that the uninterrupted one does not (empty: the same)."""
    problems = []
    if (
        not (run_dir / "model" / "result.json").exists()
        or not (run_dir / "export" / "adapter").is_dir()
    ):
        return ["the run did not finish"]
    if record_ids(run_dir) != ref.ids:
        problems.append("record ids differ")
    hashes = data_hashes(run_dir)
    if hashes != ref.hashes:
        problems.append(
            "data files differ: "
            + ", ".join(
                sorted(k for k in {*hashes, *ref.hashes} if hashes.get(k) != ref.hashes.get(k))
            )
        )
    if quarantine_lines(run_dir) != ref.quarantine:
        problems.append("quarantine.jsonl differs (lost or duplicated entries)")
    if leftovers(run_dir):
        problems.append("half-written files left: " + ", ".join(leftovers(run_dir)))
    gap = adapter_difference(run_dir, ref.run_dir)
    if not gap < ADAPTER_ATOL:
        problems.append(f"final adapter differs by {gap:.2e}")
    return problems


# -- kill -9
# ----------------------------------------------------------------------------------------

#: moments to kill a run at, each a condition on its run directory (checked every few ms)
KILL_POINTS: dict[str, Callable[[Path], bool]] = {
    # the first bad file is quarantined while the others are still being parsed
    "ingest": lambda d: (
        (d / "quarantine.jsonl").exists() or (d / "data" / "sources.done.json").exists()
    ),
    "augment": lambda d: (d / "eval_set.jsonl").exists(),  # written just before the augmenters run
    "train": lambda d: any((d / "model" / "checkpoints").glob("checkpoint-*")),
    "checkpoint write": lambda d: any(
        not (p / ".complete").exists()
        for p in (d / "model" / "checkpoints").glob("checkpoint-*")
        if p.is_dir()
    ),
    "evaluate": lambda d: (d / "model" / "result.json").exists(),
    "export": lambda d: (d / "export").exists(),
}


def stage_reached(run_dir: Path) -> str:
    """The stage a killed run was in: the one after the last finished one in its manifest."""
    order = ["sources", "cleaners", "chunk", "augmenters", "split", "train", "evaluate", "export"]
    try:
        done = set(
            json.loads((run_dir / "manifest.json").read_text(encoding="utf-8")).get("stages", {})
        )
    except (OSError, json.JSONDecodeError):
        return "start-up"
    pending = [stage for stage in order if stage not in done]
    if pending and pending[0] == "train" and (run_dir / "model" / "result.json").exists():
        return "train (result saved)"
    if (
        pending
        and pending[0] == "train"
        and any(p.is_dir() for p in (run_dir / "model" / "checkpoints").glob("checkpoint-*"))
    ):
        return "train (after a checkpoint)"
    return pending[0] if pending else "report"


@dataclass
class Trial:
    check: str
    point: str
    killed_in: str = ""
    resumes: int = 0
    problems: list[str] = field(default_factory=list)


def kill_when(
    proc: subprocess.Popen[bytes],
    run_dir: Path,
    point: str | float | Callable[[Path], bool],
    limit_s: float,
) -> bool:
    """SIGKILL ``proc`` at ``point`` (a KILL_POINTS name, a condition on the run directory, or
    seconds after start); False: it ended first."""
    start = time.perf_counter()
    if isinstance(point, float):
        delay = point
        condition: Callable[[Path], bool] = lambda _: time.perf_counter() - start >= delay  # noqa: E731
    else:
        condition = KILL_POINTS[point] if isinstance(point, str) else point
    while proc.poll() is None and time.perf_counter() - start < limit_s:
        if condition(run_dir):
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.wait()
    return False


def kill_trial(setup: Setup, ref: Reference, n: int, point: str | float) -> Trial:
    """Kill one run at ``point``, resume it until it finishes, compare it with ``ref``."""
    label = point if isinstance(point, str) else f"random ({point:.1f} s)"
    trial = Trial("kill -9, then --resume", label)
    run_dir = setup.folder / f"killed-{n}"
    recipe, log = setup.recipe(run_dir), setup.folder / f"killed-{n}.log"
    if not kill_when(inject(recipe, log), run_dir, point, limit_s=10 * ref.seconds + 60):
        trial.killed_in = "(finished before the kill)"
    else:
        trial.killed_in = stage_reached(run_dir)
    for trial.resumes in range(1, 4):
        if run_to_end(recipe, log, "--resume") == 0:
            break
    else:
        trial.problems.append(f"--resume failed 3 times: see {log}")
        return trial
    trial.problems += differences(run_dir, ref)
    return trial


def kill_points(trials: int, rng: random.Random, seconds: float) -> list[str | float]:
    """Every named point once (while trials last), then random moments within a run's length."""
    named: list[str | float] = [*list(KILL_POINTS)[:trials]]
    return named + [round(rng.uniform(0.5, seconds), 2) for _ in range(trials - len(named))]


# -- a broken last checkpoint --------------------------------------------------------------------

#: ways to break the last complete checkpoint after the run that wrote it was killed
DAMAGES: dict[str, Callable[[Path], None]] = {
    "adapter weights cut to half": lambda c: _cut(c / "adapter_model.safetensors"),
    "optimizer.pt deleted": lambda c: (c / "optimizer.pt").unlink(),
    "trainer_state.json cut to half": lambda c: _cut(c / "trainer_state.json"),
    "rng state emptied": lambda c: _cut(next(c.glob("rng_state*.pth")), keep=0.0),
}


def _cut(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def checkpoint_trial(setup: Setup, ref: Reference, n: int, damage: str) -> Trial:
    """Kill a run once two checkpoints are complete, break the newer one, resume."""
    from kinject.checkpoints import checkpoint_step, last_complete_checkpoint

    trial = Trial("broken last checkpoint", damage)
    run_dir = setup.folder / f"checkpoint-{n}"
    recipe, log = setup.recipe(run_dir), setup.folder / f"checkpoint-{n}.log"
    folder = run_dir / "model" / "checkpoints"
    target = 3 * setup.save_steps

    def two_complete(_: Path) -> bool:
        last = last_complete_checkpoint(folder)
        return last is not None and (checkpoint_step(last) or 0) >= target

    killed = kill_when(inject(recipe, log), run_dir, two_complete, limit_s=10 * ref.seconds + 60)
    last = last_complete_checkpoint(folder)
    if not killed or last is None:
        trial.problems.append("the run was not killed after two checkpoints")
        return trial
    step = checkpoint_step(last) or 0
    DAMAGES[damage](last)
    trial.killed_in = f"train, {last.name} damaged"
    resumed_log = setup.folder / f"checkpoint-{n}-resumed.log"
    if run_to_end(recipe, resumed_log, "--resume", quiet=False) != 0:
        trial.problems.append(f"--resume failed: see {resumed_log}")
        return trial
    notices = [
        line
        for line in resumed_log.read_text(encoding="utf-8").splitlines()
        if "skipped incomplete" in line
    ]
    expected = f"continuing from checkpoint-{step - setup.save_steps}"
    if len(notices) != 1 or last.name not in notices[0] or expected not in notices[0]:
        trial.problems.append(
            f"expected one notice naming {last.name} and '{expected}', got {notices}"
        )
    stage = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))["stages"]["train"]
    if stage.get("resumed_from_step") != step - setup.save_steps:
        trial.problems.append(
            f"resumed from step {stage.get('resumed_from_step')}, not {step - setup.save_steps}"
        )
    trial.problems += differences(run_dir, ref)
    trial.resumes = 1
    return trial


# -- disk full
# --------------------------------------------------------------------------------------

#: the data stages whose writer is made to fail, in the order they run
DISK_FULL_STAGES = ("sources", "cleaners", "chunk", "augmenters", "train")


def fill_disk_in(stage: str, argv: list[str]) -> None:
    """Run ``inject ARGV`` in this process with ``data/<stage>.jsonl``'s writer failing with
    ENOSPC after its first 100 bytes (a disk that fills up while the stage writes)."""
    import errno
    import pathlib

    real_open = pathlib.Path.open
    target = f"{stage}.jsonl.partial"

    class FullDisk:
        def __init__(self, file: Any, path: Path) -> None:
            self.file, self.path, self.written = file, path, 0

        def write(self, text: str) -> int:
            if self.written + len(text) > 100:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
            self.written += len(text)
            return int(self.file.write(text))

        def __enter__(self) -> FullDisk:
            return self

        def __exit__(self, *exc: object) -> None:
            self.file.close()

    def full_open(self: Path, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        file = real_open(self, mode, *args, **kwargs)
        return FullDisk(file, self) if self.name == target and "w" in mode else file

    pathlib.Path.open = full_open  # type: ignore[method-assign]
    from kinject.cli import main

    main(argv)


def disk_full_trial(setup: Setup, ref: Reference, n: int, stage: str) -> Trial:
    """ENOSPC while one stage writes: one-line error, earlier stages intact, a re-run finishes."""
    trial = Trial("disk full (ENOSPC) while a stage writes", f"data/{stage}.jsonl")
    run_dir = setup.folder / f"full-{n}"
    recipe, log = setup.recipe(run_dir), setup.folder / f"full-{n}.log"
    child = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); import fault_runs; "
        f"fault_runs.fill_disk_in({stage!r}, ['--config', {str(recipe)!r}, '-q'])"
    )
    with log.open("wb") as out:
        code = subprocess.run(
            [sys.executable, "-c", child],
            env=child_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=900,
        ).returncode
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    trial.killed_in = errors[-1] if errors else "(no error line)"
    if (
        code != 1
        or len(errors) != 1
        or "No space left on device" not in errors[0]
        or stage not in errors[0]
    ):
        trial.problems.append(
            f"expected exit 1 and one 'Error: ...{stage}.jsonl...: No space left on device' line, "
            f"got exit {code}: {lines[-3:]}"
        )
    if any("Traceback" in line for line in lines):
        trial.problems.append("a traceback was printed")
    earlier = DISK_FULL_STAGES[: DISK_FULL_STAGES.index(stage)]
    hashes = data_hashes(run_dir)
    for name in earlier:
        if hashes.get(f"{name}.jsonl") != ref.hashes[f"{name}.jsonl"]:
            trial.problems.append(f"data/{name}.jsonl (an earlier stage) changed")
    if (run_dir / "data" / f"{stage}.jsonl").exists() or leftovers(run_dir):
        trial.problems.append(f"a half-written data/{stage}.jsonl was left behind")
    if run_to_end(recipe, log) != 0:
        trial.problems.append(f"the re-run after the disk was freed failed: see {log}")
        return trial
    trial.resumes = 1
    trial.problems += differences(run_dir, ref)
    return trial


# -- determinism ---------------------------------------------------------------------------------


def determinism_trials(setup: Setup, ref: Reference) -> list[Trial]:
    """The same recipe run again, and run with one ingest worker: same bytes, same losses."""
    trials = []
    for label, workers in (
        ("second run, 2 ingest workers", 2),
        ("1 ingest worker instead of 2", 1),
    ):
        trial = Trial("same inputs and seed", label)
        run_dir = setup.folder / f"again-{workers}"
        if (
            run_to_end(
                setup.recipe(run_dir, workers=workers), setup.folder / f"again-{workers}.log"
            )
            != 0
        ):
            trial.problems.append("the run failed")
            trials.append(trial)
            continue
        if data_hashes(run_dir) != ref.hashes:
            trial.problems.append("data/*.jsonl not byte-identical")
        ours, theirs = training_losses(run_dir), training_losses(ref.run_dir)
        gap = max((abs(a - b) for a, b in zip(ours, theirs, strict=False)), default=float("inf"))
        if len(ours) != len(theirs) or not gap <= LOSS_ATOL:
            trial.problems.append(
                f"training losses differ by {gap:.2e} ({len(ours)} vs {len(theirs)} steps)"
            )
        trial.killed_in = f"{len(ours)} losses, largest gap {gap:.1e}"
        trials.append(trial)
    return trials
