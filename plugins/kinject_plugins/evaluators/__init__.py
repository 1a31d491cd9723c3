"""Builtin evaluators: each module holds one component; this hook registers them all."""

from __future__ import annotations

from kinject import hookimpl
from kinject.hookspecs import Register


@hookimpl
def register_evaluators(register: Register) -> None:
    # Imports stay inside the hook so loading the plugin is cheap.
    from kinject_plugins.evaluators.knowledge_qa import KnowledgeQAEvaluator
    from kinject_plugins.evaluators.retention import RetentionEvaluator

    register(KnowledgeQAEvaluator)
    register(RetentionEvaluator)
