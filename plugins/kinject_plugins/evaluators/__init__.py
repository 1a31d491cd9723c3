"""Builtin evaluators: each module holds one component; this hook registers them all.

``loglik`` (continuation log-likelihoods) and ``generation`` (cached greedy answers) are the
shared machinery; docs/evaluators.md describes every metric and option.
"""

from __future__ import annotations

from kinject import hookimpl
from kinject.hookspecs import Register


@hookimpl
def register_evaluators(register: Register) -> None:
    # Imports stay inside the hook so loading the plugin is cheap.
    from kinject_plugins.evaluators.knowledge_qa import KnowledgeQAEvaluator
    from kinject_plugins.evaluators.latency import LatencyEvaluator
    from kinject_plugins.evaluators.overlap import OverlapEvaluator
    from kinject_plugins.evaluators.perplexity import PerplexityEvaluator
    from kinject_plugins.evaluators.retention import RetentionEvaluator
    from kinject_plugins.evaluators.rubric import RubricEvaluator
    from kinject_plugins.evaluators.semantic import SemanticEvaluator
    from kinject_plugins.evaluators.term_f1 import TermF1Evaluator

    for evaluator in (
        KnowledgeQAEvaluator,
        RetentionEvaluator,
        PerplexityEvaluator,
        RubricEvaluator,
        OverlapEvaluator,
        SemanticEvaluator,
        LatencyEvaluator,
        TermF1Evaluator,
    ):
        register(evaluator)
