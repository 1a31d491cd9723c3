"""Base classes for the things plugins register: one abstract method per kind.

A component is a class with a ``name`` (the registry key) and, optionally, an ``Options``
pydantic model; recipes pass options as keyword arguments and every problem is reported at once.
Heavy libraries (torch, transformers, faiss, ...) are imported inside methods, never at module
level, so ``inject --help`` stays fast.
"""

from __future__ import annotations

import json
import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import BaseModel, ConfigDict

from kinject.component_context import (
    ContextPicker,
    context_argument,
    context_methods,
    keeping_context,
    missing_context,
    working_in,
)
from kinject.ingest_worker import Issue
from kinject.paths import resolve_saved, run_relative
from kinject.records import Record, Rejected

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


class NoOptions(BaseModel):
    """Options model of a component that takes none."""

    model_config = ConfigDict(extra="forbid")


class Component(ABC):  # noqa: B024 (each kind below adds its abstract method)
    """Something a plugin registers. Subclasses set ``name`` and may set ``Options``.

    The engine calls ``setup(context)`` before a component works; every ``setup``, the base's or
    an override (which need not call ``super().setup``), first keeps ``context`` and its
    ``seed`` on the component. ``stats`` is the component's own counts for the stage's report.
    """

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    #: the run this component works in, kept by ``setup(context)``; None before it
    context: RunContext | None
    #: the run's seed (``context.seed``), kept by ``setup(context)``; 0 before it
    seed: int
    #: counts shown in the stage's report (``records_written``, ``skipped_*``, ...)
    stats: dict[str, Any]
    #: methods handed the run's context (method name -> picks it from the call's arguments): a
    #: call keeps that context on the component, as ``setup`` does, so the method's body and
    #: everything it calls read ``self.context``. So does every method whose first argument is
    #: a ``job`` (a :class:`TrainJob`, with ``job.context``).
    context_in: ClassVar[dict[str, ContextPicker]] = {}

    def __init__(self, **options: Any) -> None:
        self.opts = self.Options(**options)
        self.context = None
        self.seed = 0
        self.stats = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "setup" in cls.__dict__:
            setattr(cls, "setup", keeping_context(cls.__dict__["setup"]))  # noqa: B010 (mypy: method assign)
        for method, pick in context_methods(cls).items():
            setattr(cls, method, working_in(cls.__dict__[method], pick))

    def setup(self, context: RunContext) -> None:  # noqa: B027 (optional hook)
        """Prepare for a run (load a term list, an embedder, the eval set). Optional."""
        self.context, self.seed = context, context.seed

    def __getstate__(self) -> dict[str, Any]:
        # sent to a worker process (ingest, Ray) without the run context: it holds the plugin
        # manager, which does not pickle; seed, options and stats go along
        return {**self.__dict__, "context": None}


class RunComponent(Component):  # noqa: B024 (the kinds below add their abstract method)
    """A kind that works only inside a run: a trainer, an evaluator or an exporter.

    The engine calls ``setup(context)`` before using one, and each method handed a context keeps
    it too, so ``self.context`` is always the run. Read before either, it raises a one-line
    :class:`~kinject.errors.PluginError` (not an ``AttributeError`` on ``None`` further down).
    """

    @property  # type: ignore[override]
    def context(self) -> RunContext:
        """The run this component works in."""
        found = self.__dict__.get("context")
        if found is None:
            raise missing_context(self)
        return cast("RunContext", found)

    @context.setter
    def context(self, value: RunContext | None) -> None:
        self.__dict__["context"] = value


# -- data stages --------------------------------------------------------------------------------


class Source(Component):
    """Turns a URI (a file path or ``scheme://...``) into Records.

    Raise :class:`kinject.errors.InputError` with a reason code for a bad input: the engine
    quarantines that input and carries on with the rest.
    """

    kind = "source"
    #: file suffixes this source reads, lower case with the dot (``".pdf"``)
    extensions: ClassVar[tuple[str, ...]] = ()
    #: URI schemes this source reads (``"sql"`` for ``sql://...``)
    schemes: ClassVar[tuple[str, ...]] = ()
    #: when several sources match a URI, the highest priority wins
    priority: ClassVar[int] = 0

    @classmethod
    def matches(cls, uri: str) -> bool:
        if "://" in uri:
            return uri.split("://", 1)[0].lower() in cls.schemes
        return Path(uri).suffix.lower() in cls.extensions

    #: problems with parts of the input being read (:meth:`report_issue`); the engine empties it
    #: before each input and quarantines what is in it afterwards
    issues: list[Issue]

    @abstractmethod
    def read(self, uri: str) -> Iterator[Record]:
        """Yield the Records in ``uri``; ``source['uri']`` set on each."""

    def report_issue(self, reason: str, detail: str, uri: str) -> None:
        """A part of the input was skipped (a blank page, a bad row); the rest is kept.

        The issue goes to quarantine under this source's name, as a cleaner's drop does;
        ``uri`` names the part (``file.csv#row=7``, ``file.pdf#page=3``).
        """
        if "issues" not in self.__dict__:
            self.issues = []
        self.issues.append(Issue(reason, detail, uri))


class Cleaner(Component):
    """Keeps, changes or drops Records. Dropped ones come back as :class:`Rejected`."""

    kind = "cleaner"

    @abstractmethod
    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        """Yield every input Record, cleaned, or a Rejected with the reason code."""


class RecordCleaner(Cleaner):
    """A cleaner that looks at one Record at a time."""

    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        for record in records:
            yield self.clean(record)

    @abstractmethod
    def clean(self, record: Record) -> Record | Rejected:
        """Return the (possibly changed) Record, or Rejected(record, reason)."""


class Augmenter(Component):
    """Makes more Records (rewrites, QA pairs, preference pairs) from the cleaned ones."""

    kind = "augmenter"
    #: True: what it writes for a document depends only on that document's Records, so the
    #: runner may hand it one group of whole documents at a time (docs/scale.md)
    per_document: bool = False
    #: where the Records given to ``augment`` start in the stage's whole input: 0, unless the
    #: runner hands a ``per_document`` augmenter one group of documents; positions counted from
    #: the list given (an order key after the source Record) add it to stay those of the input
    input_offset: int = 0
    #: the length of the stage's whole input when the runner hands out groups (0: the list given)
    input_total: int = 0
    #: the stage-input position of each Record given, when the runner hands out only the Records
    #: :meth:`reads` (None: they are consecutive from ``input_offset``)
    input_positions: list[int] | None = None

    @abstractmethod
    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        """Yield new Records only; the engine keeps the inputs."""

    def reads(self, record: Record) -> bool:
        """Whether ``augment`` writes anything from ``record``; a runner hands a ``per_document``
        augmenter only these (with their positions), so Records that earlier augmenters appended
        to a document do not split it. Default: every Record."""
        return True

    def prepare_corpus(self, records: Sequence[Record] | None) -> None:
        """Read what the augmenter needs of the whole input (a vocabulary, say) before a runner
        hands a ``per_document`` augmenter its groups: called once in the driver, and what it
        sets on the augmenter travels with every group's copy; called with None afterwards to
        forget it. The default reads nothing."""

    #: an augmenter whose ``stats`` hold shares, minima or lists defines
    #: ``merge_stats(parts) -> dict``: the whole input's stats from those of its groups (without
    #: it the runner adds counts key by key, :func:`kinject.runners.augment.add_stats`)


# -- training -----------------------------------------------------------------------------------


@dataclass
class TrainJob:
    """Everything a trainer needs for one training run."""

    base_model: Path
    train: list[Record]
    output_dir: Path
    context: RunContext
    eval: list[Record] = field(default_factory=list)
    #: general or previous-domain text (EWC's Fisher estimate, replay, retention)
    reference: list[Record] = field(default_factory=list)
    resume: bool = False
    #: finished results this training may build on, by strategy: ``inject compare`` hands the
    #: rows trained before this one (``sft`` is the teacher of ``distill``, the policy of ``rlhf``)
    prior: dict[str, TrainResult] = field(default_factory=dict)


@dataclass
class TrainResult:
    """What a trainer produced: a model directory evaluators and exporters can load."""

    model_dir: Path
    base_model: Path
    #: True when ``model_dir`` holds a PEFT adapter on top of ``base_model``
    adapter: bool = True
    metrics: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: the model the run started from, judged as "before" (default: ``base_model``); differs when
    #: the adapter sits on an intermediate model, e.g. rlhf's merged SFT model
    started_from: Path | None = None

    def save(self, run_dir: Path, folder: Path | None = None, fingerprint: str = "") -> Path:
        """Write ``<folder>/result.json`` (default folder: ``<run_dir>/model``) and return its path.

        Paths inside ``run_dir`` are stored relative to it, so a moved run directory still loads;
        the file is replaced whole, never left half written.
        """
        path = result_file(run_dir, folder)
        root = Path(run_dir).resolve()
        data = {
            k: run_relative(v, root) if isinstance(v, Path) else v for k, v in asdict(self).items()
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        # where the run directory is, seen from the file: a moved run keeps the same answer
        run = Path(os.path.relpath(root, path.parent.resolve())).as_posix()
        partial = path.with_name(path.name + ".partial")
        saved = {"fingerprint": fingerprint, "run": run, "result": data}
        partial.write_text(json.dumps(saved, indent=2, default=str), encoding="utf-8")
        partial.replace(path)
        return path

    @classmethod
    def load(cls, path: Path, run_dir: Path | None = None) -> TrainResult:
        """Read a result written by :meth:`save`.

        ``path`` is the file, the folder holding it, or a run directory (its ``model/`` folder).
        Relative paths resolve against ``run_dir``, by default the run the file was saved in.
        """
        file = _locate(Path(path))
        saved = json.loads(file.read_text(encoding="utf-8"))
        # files written before "run" was stored lie in <run>/model/
        root = (
            Path(run_dir)
            if run_dir is not None
            else Path(os.path.normpath(file.parent / saved.get("run", "..")))
        )
        data = saved["result"]
        for key in ("model_dir", "base_model", "started_from"):
            if data.get(key):
                data[key] = resolve_saved(data[key], root)
        return cls(**data)

    @classmethod
    def cached(cls, folder: Path, fingerprint: str, run_dir: Path) -> TrainResult | None:
        """The result saved in ``folder`` by a training with this fingerprint, else None."""
        path = result_file(run_dir, folder)
        if (
            not path.is_file()
            or json.loads(path.read_text(encoding="utf-8")).get("fingerprint") != fingerprint
        ):
            return None
        return cls.load(path, run_dir)


#: the file a :class:`TrainResult` is saved in, inside the folder its model was trained in
RESULT_FILE = "result.json"
#: the folder of a run directory that holds the trained model and its result
MODEL_FOLDER = "model"


def result_file(run_dir: Path, folder: Path | None = None) -> Path:
    """Where the result of the training in ``folder`` (default: the run's ``model/``) is saved."""
    return Path(folder if folder is not None else Path(run_dir) / MODEL_FOLDER) / RESULT_FILE


def has_result(path: Path) -> bool:
    """Whether ``path`` (a result file, a training folder or a run directory) holds a saved
    result.
    """
    return any(candidate.is_file() for candidate in _candidates(Path(path)))


def _candidates(path: Path) -> tuple[Path, ...]:
    if path.name == RESULT_FILE:
        return (path,)
    return (path / RESULT_FILE, path / MODEL_FOLDER / RESULT_FILE)


def _locate(path: Path) -> Path:
    found = next((c for c in _candidates(path) if c.is_file()), None)
    if found is None:
        raise FileNotFoundError(f"no {MODEL_FOLDER}/{RESULT_FILE} in {path}")
    return found


class Trainer(RunComponent):
    """A strategy for getting knowledge into a model."""

    kind = "trainer"
    context_in = {"load_for_eval": context_argument(1)}  # train(job) and job methods: by name

    @abstractmethod
    def train(self, job: TrainJob) -> TrainResult:
        """Train (resuming from the last complete checkpoint when ``job.resume``)."""

    def load_for_eval(self, result: TrainResult, context: RunContext) -> EvalModel:
        """The trained model, ready for evaluators. Default: base + adapter, or a full model.

        Also called without :meth:`setup` by ``inject chat``, ``serve`` and ``eval RUN``, in a
        later process that may lack the training's hardware: load only, check nothing of
        training.
        """
        from kinject.evaluation import load_eval_model

        return load_eval_model(result, label=self.name)


# -- judging and shipping -----------------------------------------------------------------------


class Evaluator(RunComponent):
    """Model + eval items -> named metrics (floats), e.g. ``{"accuracy": 0.82}``."""

    kind = "evaluator"
    context_in = {"evaluate": context_argument(2)}

    @abstractmethod
    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        """Return metrics; keys are plain names, the engine prefixes them with ``self.name``."""


class Exporter(RunComponent):
    """Trained model -> artifacts a user deploys. Must check its own output by loading it back."""

    kind = "exporter"
    context_in = {"export": context_argument(2)}

    @abstractmethod
    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        """Write artifacts under ``out_dir`` and return their paths."""


COMPONENT_KINDS: dict[str, type[Component]] = {
    "source": Source,
    "cleaner": Cleaner,
    "augmenter": Augmenter,
    "trainer": Trainer,
    "evaluator": Evaluator,
    "exporter": Exporter,
}
