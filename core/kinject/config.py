"""Recipes: YAML run configs, merged (domain recipe < --config file < CLI flags) and validated
with every problem listed at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from kinject.errors import ConfigError, PluginError


class Step(BaseModel):
    """One plugin in a stage list: ``normalize`` or ``{name: paraphrase, k: 5}``."""

    model_config = ConfigDict(extra="forbid")
    name: str
    options: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def parse(cls, value: Any) -> Step:
        if isinstance(value, Step):
            return value
        if isinstance(value, str):
            return cls(name=value)
        if isinstance(value, dict):
            if "name" in value:
                opts = {k: v for k, v in value.items() if k not in ("name", "options")}
                return cls(name=value["name"], options={**opts, **(value.get("options") or {})})
            if len(value) == 1:
                ((name, opts),) = value.items()
                return cls(name=name, options=dict(opts or {}))
        raise ValueError(f"expected a plugin name or a mapping with 'name', got {value!r}")


def _steps(value: Any) -> list[Step]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("expected a list")
    return [Step.parse(v) for v in value]


class ChunkConfig(BaseModel):
    """How long records are cut into passages before augmentation (see ``kinject.chunking``)."""

    model_config = ConfigDict(extra="forbid")
    #: tokens per passage, title line and special tokens included; None: the trainer's max_length
    max_tokens: int | None = Field(default=None, ge=16)
    #: tokens of whole sentences repeated between neighbouring passages
    overlap: int = Field(default=16, ge=0)
    #: put the document title and section heading in front of each passage
    title: bool = True


class EvalSetConfig(BaseModel):
    """The questions built from a user's corpus when neither ``eval_set`` nor the pack's apply."""

    model_config = ConfigDict(extra="forbid")
    #: the augmenter that writes held-out multiple-choice questions from passages
    builder: str = "eval-questions"
    #: at most this many questions, spread across documents (0: do not build; use the pack's)
    max_questions: int = Field(default=200, ge=0)
    options: dict[str, Any] = Field(default_factory=dict)


class RayConfig(BaseModel):
    """Where ``runner: ray`` runs the data stages (see docs/scale.md)."""

    model_config = ConfigDict(extra="forbid")
    #: an existing cluster (``ray://head:10001``, ``auto``); None starts a local Ray
    address: str | None = None
    #: CPUs of the local Ray the engine starts (None: all of this machine's)
    num_cpus: int | None = Field(default=None, ge=1)
    #: parallel tasks (or actors, for components that hold a model) per step; None: Ray decides
    concurrency: int | None = Field(default=None, ge=1)
    #: near dedup's MinHash-LSH: ``near_bands`` bands of ``near_rows`` hashes of token bigrams
    #: (more bands: more pairs found and more pairs checked)
    near_bands: int = Field(default=20, ge=1)
    near_rows: int = Field(default=6, ge=1)


class RunConfig(BaseModel):
    """The resolved configuration of one run (also written to the manifest)."""

    model_config = ConfigDict(extra="forbid")

    domain: str | None = None
    corpus: list[str] = Field(default_factory=list)
    base_model: str = "smollm2-135m"
    sources: dict[str, dict[str, Any]] = Field(default_factory=dict)
    cleaners: list[Step] = Field(default_factory=lambda: _steps(["normalize", "exact-dedup"]))
    augmenters: list[Step] = Field(default_factory=lambda: _steps(["paraphrase", "qa-generate"]))
    strategy: str = "sft"
    trainer: dict[str, Any] = Field(default_factory=dict)
    evaluators: list[Step] = Field(default_factory=lambda: _steps(["knowledge-qa"]))
    exporters: list[Step] = Field(default_factory=lambda: _steps(["adapter"]))
    eval_set: str | None = None
    chunk: ChunkConfig = Field(default_factory=ChunkConfig)
    #: questions built from the user's corpus (used when the corpus is not the pack's sample)
    eval_questions: EvalSetConfig = Field(default_factory=EvalSetConfig)
    #: defaults for every augmenter that generates text (``backend: rules|model|endpoint``,
    #: ``model``, ``base_url``, ...); an augmenter's own options win
    augment: dict[str, Any] = Field(default_factory=dict)
    #: fraction of derived (augmented) records held out for the trainer's eval loss
    holdout_fraction: float = Field(default=0.05, ge=0.0, lt=1.0)
    #: drop training records that contain an evaluation item (needs the decontaminate cleaner)
    decontaminate: bool = True
    #: measure forgetting on the general-knowledge set (adds the retention evaluator)
    forgetting: bool = True
    # : per-strategy trainer options (``{ewc: {ewc_lambda: 50}}``): used by ``inject compare`` for
    # each
    #: strategy, and under ``trainer`` when that strategy is the one chosen
    strategy_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    reference_set: str | None = None
    #: ``accelerate``: run the training stage under ``accelerate launch`` (DDP/FSDP/DeepSpeed)
    launcher: Literal["none", "accelerate"] = "none"
    num_processes: int = Field(default=1, ge=1)
    #: an accelerate config file (DDP, FSDP or DeepSpeed settings), passed through unchanged
    accelerate_config: str | None = None
    #: how the data stages run: ``local`` (this process) or ``ray`` (Ray Data, local or a cluster)
    runner: Literal["local", "ray"] = "local"
    ray: RayConfig = Field(default_factory=RayConfig)
    #: Records per shard of a data stage's files (each shard is finished and resumed on its own)
    shard_records: int = Field(default=10_000, ge=1)
    seed: int = 42
    runs_root: str = "runs"
    run_dir: str | None = None

    _steps_validator = field_validator(
        "cleaners", "augmenters", "evaluators", "exporters", mode="before"
    )(lambda v: _steps(v))

    @field_validator("corpus", mode="before")
    @classmethod
    def _corpus_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def load_yaml(path: Path) -> dict[str, Any]:
    """A recipe file as a mapping, or a ConfigError naming the file and the problem."""
    if not path.exists():
        raise ConfigError(f"recipe not found: {path}", source=str(path))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        problem = " ".join(
            str(getattr(exc, "problem", None) or exc).split()
        )  # one line, whatever yaml says
        raise ConfigError(f"invalid YAML{where}: {problem}", source=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError("a recipe must be a mapping of settings", source=str(path))
    return data


def merge(*layers: dict[str, Any]) -> dict[str, Any]:
    """Later layers win; nested mappings (``trainer``, ``sources``) merge key by key."""
    out: dict[str, Any] = {}
    for layer in layers:
        for key, value in layer.items():
            if value is None:
                continue
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = merge(out[key], value)
            else:
                out[key] = value
    return out


def merge_recipe(*layers: dict[str, Any]) -> dict[str, Any]:
    """Merge recipe layers, keeping each layer's ``trainer`` block with the strategy it was written
    for.

    A layer that names a ``strategy`` and gives ``trainer`` options means "these options for that
    strategy": when a later layer switches the strategy (``--strategy rag`` over a recipe tuned for
    ``sft``), those options are dropped instead of being fed to a trainer that does not know them.
    The chosen strategy's ``strategy_options`` entry then sits under the surviving ``trainer`` keys.
    """
    merged = merge(*layers)
    strategy = merged.get("strategy") or RunConfig.model_fields["strategy"].default
    kept = [
        {k: v for k, v in layer.items() if k != "trainer"}
        if layer.get("trainer") and layer.get("strategy") not in (None, strategy)
        else layer
        for layer in layers
    ]
    merged = merge(*kept)
    options = merged.get("strategy_options")
    # a strategy that is not a name, or options that are not a mapping: build_config says so
    per_strategy = (
        options.get(strategy) if isinstance(options, dict) and isinstance(strategy, str) else None
    )
    if isinstance(per_strategy, dict) and per_strategy:
        merged["trainer"] = merge(per_strategy, merged.get("trainer") or {})
    return merged


def build_config(data: dict[str, Any], source: str = "config") -> RunConfig:
    """Validate a merged mapping; every schema problem is listed in one ConfigError."""
    try:
        return RunConfig(**data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or 'config'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise ConfigError(problems, source=source) from None


def check_plugins(config: RunConfig, plugins: Any, source: str = "config") -> None:
    """Every named plugin exists and accepts its options; all problems reported together."""
    problems: list[str] = []
    checks: list[tuple[str, str, dict[str, Any], str]] = [
        ("trainer", config.strategy, config.trainer, "strategy"),
    ]
    for kind, steps in (
        ("cleaner", config.cleaners),
        ("augmenter", config.augmenters),
        ("evaluator", config.evaluators),
        ("exporter", config.exporters),
    ):
        checks += [(kind, s.name, s.options, f"{kind}s.{s.name}") for s in steps]
    for kind, name, options, where in checks:
        try:
            factory = plugins.registry(kind).get(name).obj
        except PluginError as exc:
            problems.append(f"{where}: {exc}")
            continue
        problems += _option_problems(factory, options, where)
    if problems:
        raise ConfigError(problems, source=source)


def _option_problems(factory: Any, options: dict[str, Any], where: str) -> list[str]:
    model = getattr(factory, "Options", None)
    if model is None:
        return []
    try:
        model(**options)
    except ValidationError as exc:
        return [f"{where}.{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
    return []
