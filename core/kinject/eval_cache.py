"""The base model's evaluation, kept across runs under ``$KINJECT_HOME/cache/evaluations/``.

The base model does not change between runs, so a new run of the same model on the same
questions with the same evaluators loads the base evaluation instead of computing it again.
The key holds everything that decides the result:

- the model: its resolved path and the name, size and modification time of every file in it.
  Hashing the weights would cost seconds per GiB on every run (more than the evaluation of a
  small model); a converted, downloaded or re-saved model rewrites its files, which changes
  their size or time, and a hub snapshot's path already names its commit;
- the eval set's content (every field of every question), the evaluators (class and options),
  the domain pack (name, version, rubric and term files), the seed, and the versions of
  kinject, torch and transformers.

Only an evaluation in which every evaluator succeeded is kept. ``KINJECT_EVAL_CACHE=0`` turns
the cache off; deleting the folder empties it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.paths import kinject_home
from kinject.stages import file_digest, fingerprint

if TYPE_CHECKING:
    from kinject.components import Evaluator
    from kinject.config import Step
    from kinject.context import RunContext

#: values of ``KINJECT_EVAL_CACHE`` that turn the cache off
_OFF = frozenset({"0", "false", "no", "off"})


def enabled() -> bool:
    return os.environ.get("KINJECT_EVAL_CACHE", "1").strip().lower() not in _OFF


def cache_dir() -> Path:
    return kinject_home() / "cache" / "evaluations"


def model_signature(path: Path) -> list[Any]:
    """The resolved path and (name, size, mtime) of each file: cheap, and changes on rewrite."""
    root = path.expanduser().resolve()
    if root.is_file():
        stat = root.stat()
        return [str(root), [root.name, stat.st_size, stat.st_mtime_ns]]
    files = sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))
    out: list[Any] = [str(root)]
    for file in files:
        stat = file.stat()
        out.append([file.relative_to(root).as_posix(), stat.st_size, stat.st_mtime_ns])
    return out


def base_key(context: RunContext, model: Path, evaluators: list[tuple[Step, Evaluator]]) -> str:
    """The cache key of the base evaluation of ``model`` in this run's setting."""
    steps = [
        [s.model_dump(), f"{type(e).__module__}.{type(e).__qualname__}"] for s, e in evaluators
    ]
    items = [dataclasses.asdict(item) for item in context.eval_items]
    return fingerprint(
        "base-evaluation",
        model_signature(model),
        steps,
        items,
        _domain(context),
        context.config.seed,
        _versions(),
    )


def load(key: str) -> dict[str, Any] | None:
    """The saved ``{"metrics", "details"}`` under ``key``; None when absent, off or unreadable."""
    path = cache_dir() / f"{key}.json"
    if not enabled() or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # a half-written or damaged entry is recomputed
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    return {"metrics": data["metrics"], "details": data["details"], "cached_from": str(path)}


def store(key: str, model: Path, metrics: dict[str, float], details: dict[str, Any]) -> Path | None:
    """Keep an evaluation for later runs; one with a failed evaluator is not kept."""
    if not enabled() or any(isinstance(d, dict) and "error" in d for d in details.values()):
        return None
    path = cache_dir() / f"{key}.json"
    data = {"key": key, "model": str(model), "metrics": metrics, "details": details}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(data, ensure_ascii=False, default=str), encoding="utf-8")
        partial.replace(path)  # atomic: a run reading at the same time sees all or nothing
    except OSError:  # a read-only home costs the cache, not the run
        return None
    return path


@dataclass
class BaseEvaluations:
    """This cache as a :class:`kinject.stages.Cache`: keyed by :func:`base_key`, of ``model``."""

    model: Path

    def load(self, fp: str) -> dict[str, Any] | None:
        found = load(fp)
        return None if found is None else {"metrics": found["metrics"], "details": found["details"]}

    def save(self, fp: str, value: dict[str, Any]) -> dict[str, Any]:
        store(fp, self.model, value["metrics"], value["details"])
        return value


def _domain(context: RunContext) -> list[Any]:
    pack = context.domain
    if pack is None:
        return []
    files = [
        file_digest(p) if p is not None and p.is_file() else "" for p in (pack.rubric, pack.terms)
    ]
    return [pack.name, pack.version, files]


def _versions() -> dict[str, str]:
    out = {}
    for name in ("kinject", "torch", "transformers", "peft"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = ""
    return out
