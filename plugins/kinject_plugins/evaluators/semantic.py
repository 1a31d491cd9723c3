"""``semantic``: does the answer mean what the reference means?

``cosine`` is the mean cosine similarity between sentence embeddings of each greedy answer and
its reference (the shared embedder, :mod:`kinject.embeddings`). ``bertscore_f1`` is a
BERTScore-style F1 from the same embedder's token vectors: each token is matched to its most
similar token on the other side, recall averages over reference tokens, precision over answer
tokens. It uses no idf weighting and no baseline rescaling, so unrelated sentences still score
well above zero; compare it between models, not against published BERTScore numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from kinject.components import Evaluator
from kinject_plugins.evaluators.generation import GenerationOptions, generate_answers

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel


class SemanticOptions(GenerationOptions):
    embedder: str | None = Field(default=None, description="embedder alias, directory or hub id")
    token_level: bool = Field(default=True, description="also compute the BERTScore-style F1")
    include_items: bool = True


class SemanticEvaluator(Evaluator):
    """Embedding similarity between greedy answers and reference answers."""

    name = "semantic"
    description = "embedder cosine and BERTScore-style F1 between answers and references"
    Options = SemanticOptions
    opts: SemanticOptions

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        from kinject.embeddings import embed

        scored = [item for item in items if item.reference]
        answers = generate_answers(model, scored, self.opts.max_new_tokens, self.opts.batch_size)
        references = [item.reference for item in scored]
        if not scored:
            return {"cosine": 0.0, "n": 0}
        a_vecs = embed(answers, model=self.opts.embedder)
        r_vecs = embed(references, model=self.opts.embedder)
        cosines = [float(a @ r) for a, r in zip(a_vecs, r_vecs, strict=True)]
        metrics: dict[str, Any] = {"cosine": sum(cosines) / len(cosines), "n": len(scored)}
        rows = [
            {"id": i.id, "generation": a, "reference": i.reference, "cosine": c}
            for i, a, c in zip(scored, answers, cosines, strict=True)
        ]
        if self.opts.token_level:
            f1s = token_f1(answers, references, self.opts.embedder)
            metrics["bertscore_f1"] = sum(f1s) / len(f1s)
            for row, f1 in zip(rows, f1s, strict=True):
                row["bertscore_f1"] = f1
        if self.opts.include_items:
            metrics["items"] = rows
        return metrics


def token_f1(
    candidates: list[str], references: list[str], embedder: str | None = None
) -> list[float]:
    """BERTScore-style greedy-matching F1 per pair (0 when either side has no tokens)."""
    from kinject.embeddings import load_embedder

    encoder = load_embedder(embedder)
    cand = encoder.encode(candidates, output_value="token_embeddings", show_progress_bar=False)
    ref = encoder.encode(references, output_value="token_embeddings", show_progress_bar=False)
    return [_greedy_f1(c, r) for c, r in zip(cand, ref, strict=True)]


def _greedy_f1(cand: Any, ref: Any) -> float:
    import torch.nn.functional as F

    # drop the [CLS] and [SEP] positions: they carry sentence-level, not token, meaning
    cand, ref = cand[1:-1], ref[1:-1]
    if len(cand) == 0 or len(ref) == 0:
        return 0.0
    sim = F.normalize(cand.float(), dim=-1) @ F.normalize(ref.float(), dim=-1).T
    precision = float(sim.max(dim=1).values.mean())
    recall = float(sim.max(dim=0).values.mean())
    return 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
