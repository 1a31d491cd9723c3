"""``retention``: knowledge-qa on a general-knowledge set, to measure forgetting.

The domain eval items are ignored; the model answers the general set shipped with kinject
(``kinject/data/general_eval.jsonl``: capitals, basic science, arithmetic, common words) or the
JSONL file named by ``path``. The engine shows the drop from base to trained as forgetting.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Evaluator
from kinject.errors import ConfigError
from kinject_plugins.evaluators.knowledge_qa import KnowledgeQAOptions, score_knowledge_qa

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


def general_eval_path() -> Path:
    """The general-knowledge multiple-choice set shipped with kinject."""
    import kinject

    return Path(kinject.__file__).parent / "data" / "general_eval.jsonl"


def general_text_path() -> Path:
    """Short general-knowledge paragraphs (``{"text": ...}``): EWC's Fisher set and replay data."""
    import kinject

    return Path(kinject.__file__).parent / "data" / "general_text.jsonl"


class RetentionOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: Path | None = Field(
        default=None, description="a JSONL eval set to use instead of the builtin one"
    )
    headline: Literal["sum", "norm"] = "sum"
    batch_size: int = Field(default=16, ge=1)
    limit: int | None = Field(
        default=None, ge=1, description="use only the first N items (quick runs)"
    )
    #: per-question rows: what the paired before/after test of forgetting is computed on
    include_items: bool = True


class RetentionEvaluator(Evaluator):
    """General-knowledge multiple-choice accuracy; a drop after training is forgetting."""

    name = "retention"
    description = "knowledge-qa on a general-knowledge set (forgetting)"
    Options = RetentionOptions
    opts: RetentionOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._items: list[EvalItem] | None = None

    def setup(self, context: RunContext) -> None:
        self._items = self._load_items()

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        general = self._items if self._items is not None else self._load_items()
        self._items = general
        qa_opts = KnowledgeQAOptions(
            headline=self.opts.headline,
            batch_size=self.opts.batch_size,
            generate=False,
            include_items=self.opts.include_items,
        )
        return score_knowledge_qa(model, general, qa_opts)

    def _load_items(self) -> list[EvalItem]:
        from kinject.evaluation import load_eval_items

        path = self.opts.path or general_eval_path()
        if not path.is_file():
            raise ConfigError(f"retention: general eval set not found: {path}", source="evaluators")
        items = load_eval_items(path)
        if not items:
            raise ConfigError(f"retention: general eval set is empty: {path}", source="evaluators")
        return items[: self.opts.limit] if self.opts.limit else items
