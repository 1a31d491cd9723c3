"""Base classes for the things plugins register: one abstract method per kind.

A component is a class with a ``name`` (the registry key) and, optionally, an ``Options``
pydantic model; recipes pass options as keyword arguments and every problem is reported at once.
Heavy libraries (torch, transformers, faiss, ...) are imported inside methods, never at module
level, so ``inject --help`` stays fast.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

from kinject.records import Record, Rejected

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


class NoOptions(BaseModel):
    """Options model of a component that takes none."""

    model_config = ConfigDict(extra="forbid")


class Component(ABC):  # noqa: B024 (each kind below adds its abstract method)
    """Something a plugin registers. Subclasses set ``name`` and may set ``Options``."""

    name: ClassVar[str] = ""
    kind: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    def __init__(self, **options: Any) -> None:
        self.opts = self.Options(**options)

    def setup(self, context: RunContext) -> None:  # noqa: B027 (optional hook)
        """Prepare for a run (load a term list, an embedder, the eval set). Optional."""


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

    @abstractmethod
    def read(self, uri: str) -> Iterator[Record]:
        """Yield the Records in ``uri``; ``source['uri']`` set on each."""


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

    @abstractmethod
    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        """Yield new Records only; the engine keeps the inputs."""


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


class Trainer(Component):
    """A strategy for getting knowledge into a model."""

    kind = "trainer"

    @abstractmethod
    def train(self, job: TrainJob) -> TrainResult:
        """Train (resuming from the last complete checkpoint when ``job.resume``)."""

    def load_for_eval(self, result: TrainResult, context: RunContext) -> EvalModel:
        """The trained model, ready for evaluators. Default: base + adapter, or a full model."""
        from kinject.evaluation import load_eval_model

        return load_eval_model(result, label=self.name)


# -- judging and shipping -----------------------------------------------------------------------


class Evaluator(Component):
    """Model + eval items -> named metrics (floats), e.g. ``{"accuracy": 0.82}``."""

    kind = "evaluator"

    @abstractmethod
    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        """Return metrics; keys are plain names, the engine prefixes them with ``self.name``."""


class Exporter(Component):
    """Trained model -> artifacts a user deploys. Must check its own output by loading it back."""

    kind = "exporter"

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
