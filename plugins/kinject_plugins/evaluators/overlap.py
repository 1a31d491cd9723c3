"""``overlap``: BLEU-4 (sacrebleu) and ROUGE-L (rouge-score) of greedy answers vs references.

``bleu`` is sacrebleu's corpus BLEU on its usual 0–100 scale; ``rouge_l`` is the mean ROUGE-L
F-measure (0–1). Text with CJK characters is tokenized per character (sacrebleu's ``zh``
tokenizer; a character-aware tokenizer for ROUGE, whose default drops non-ASCII text).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from kinject.components import Evaluator
from kinject.errors import MissingDependencyError
from kinject_plugins.evaluators.generation import GenerationOptions, generate_answers

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalItem, EvalModel

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)


class OverlapOptions(GenerationOptions):
    tokenize: Literal["auto", "13a", "zh", "char"] = Field(
        default="auto", description="sacrebleu tokenizer; auto = zh when the text has CJK, else 13a"
    )
    include_items: bool = True


class CharAwareTokenizer:
    """ROUGE tokenizer: lower-cased words, and each CJK character as its own token."""

    def tokenize(self, text: str) -> list[str]:
        return _TOKEN.findall(text.lower())


class OverlapEvaluator(Evaluator):
    """Corpus BLEU-4 and mean ROUGE-L F1 of greedy answers against the references."""

    name = "overlap"
    description = "BLEU-4 (sacrebleu) and ROUGE-L (rouge-score) against reference answers"
    Options = OverlapOptions
    opts: OverlapOptions

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        scored = [item for item in items if item.reference]
        answers = generate_answers(model, scored, self.opts.max_new_tokens, self.opts.batch_size)
        references = [item.reference for item in scored]
        metrics, bleu, rouge = overlap_scores(answers, references, self.opts.tokenize)
        if self.opts.include_items:
            metrics["items"] = [
                {
                    "id": item.id,
                    "generation": a,
                    "reference": item.reference,
                    "bleu": b,
                    "rouge_l": r,
                }
                for item, a, b, r in zip(scored, answers, bleu, rouge, strict=True)
            ]
        return metrics


def overlap_scores(
    hypotheses: list[str], references: list[str], tokenize: str = "auto"
) -> tuple[dict[str, Any], list[float], list[float]]:
    """Corpus BLEU and mean ROUGE-L F1, then the per-pair sentence BLEU and ROUGE-L values."""
    try:
        import sacrebleu
        from rouge_score import rouge_scorer
    except ImportError as exc:
        raise MissingDependencyError(
            exc.name or "sacrebleu", "metrics", "the overlap evaluator"
        ) from exc
    cjk = any(_CJK.search(t) for t in [*hypotheses, *references])
    bleu_tok = tokenize if tokenize != "auto" else ("zh" if cjk else "13a")
    if cjk:
        scorer = rouge_scorer.RougeScorer(["rougeL"], tokenizer=CharAwareTokenizer())
    else:
        scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    rouge = [
        scorer.score(ref, hyp)["rougeL"].fmeasure
        for hyp, ref in zip(hypotheses, references, strict=True)
    ]
    sentence = [
        sacrebleu.sentence_bleu(hyp, [ref], tokenize=bleu_tok).score
        for hyp, ref in zip(hypotheses, references, strict=True)
    ]
    corpus = (
        sacrebleu.corpus_bleu(hypotheses, [references], tokenize=bleu_tok).score
        if hypotheses
        else 0.0
    )
    metrics = {
        "bleu": corpus,
        "rouge_l": sum(rouge) / len(rouge) if rouge else 0.0,
        "n": len(hypotheses),
        "tokenize": bleu_tok,
    }
    return metrics, sentence, rouge
