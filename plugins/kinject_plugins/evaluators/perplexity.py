"""``perplexity``: how surprised the model is by held-out domain text.

``perplexity`` scores each eval item's reference answer as the continuation of its prompt (the
same prompt the QA training data uses), so it falls when the model has learned the answers.
``text_perplexity`` scores free text given with the ``texts`` option or in ``texts_path``
(JSONL with a ``text`` field, or a plain text file of blank-line-separated paragraphs).
Both are ``exp`` of the mean negative log-likelihood per token over the whole set.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Evaluator
from kinject.errors import ConfigError
from kinject_plugins.evaluators.loglik import ContinuationScore, score_continuations

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


class PerplexityOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    texts: list[str] = Field(default_factory=list, description="held-out domain texts to score")
    texts_path: Path | None = Field(default=None, description="JSONL (`text`) or .txt paragraphs")
    answers: bool = Field(default=True, description="score the eval items' reference answers")
    batch_size: int = Field(default=8, ge=1)


class PerplexityEvaluator(Evaluator):
    """Perplexity of reference answers (in their prompt) and of held-out domain text."""

    name = "perplexity"
    description = "perplexity of reference answers and held-out domain text"
    Options = PerplexityOptions
    opts: PerplexityOptions

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        texts = list(self.opts.texts) + (
            read_texts(self.opts.texts_path) if self.opts.texts_path else []
        )
        answered = [item for item in items if item.reference] if self.opts.answers else []
        if not answered and not texts:
            raise ConfigError(
                "perplexity: nothing to score: no eval item has a reference answer and no `texts` "
                "were given",
                source="evaluators",
            )
        metrics: dict[str, Any] = {}
        if answered:
            pairs = [(model.prompt(i.question), " " + i.reference) for i in answered]
            metrics.update(_summary("", self._score(model, pairs)))
        if texts:
            metrics.update(_summary("text_", self._score(model, [("", t) for t in texts])))
        return metrics

    def _score(self, model: EvalModel, pairs: list[tuple[str, str]]) -> list[ContinuationScore]:
        return score_continuations(
            model.model, model.tokenizer, pairs, batch_size=self.opts.batch_size
        )


def _summary(prefix: str, scores: list[ContinuationScore]) -> dict[str, Any]:
    tokens = sum(s.n_tokens for s in scores)
    nll = -sum(s.logprob for s in scores) / tokens if tokens else 0.0
    return {
        f"{prefix}perplexity": math.exp(nll),
        f"{prefix}nll_per_token": nll,
        f"{prefix}tokens": tokens,
    }


def read_texts(path: Path) -> list[str]:
    """Texts from a JSONL file (``text`` field) or a plain file of blank-line-separated
    paragraphs.
    """
    if not path.is_file():
        raise ConfigError(f"perplexity: texts file not found: {path}", source="evaluators")
    raw = path.read_text(encoding="utf-8")
    if path.suffix.lower() != ".jsonl":
        return [p.strip() for p in raw.split("\n\n") if p.strip()]
    texts = []
    for lineno, line in enumerate(raw.splitlines(), 1):
        if not line.strip():
            continue
        try:
            texts.append(str(json.loads(line)["text"]))
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"perplexity: {path} line {lineno}: expected an object with `text` ({exc})"
            ) from exc
    return texts
