"""Builtin trainers (strategies): each module holds one component; this hook registers them all.

To add a strategy, write ``<name>.py`` with a :class:`kinject.components.Trainer` subclass and
add it to ``BUILTIN_TRAINERS`` as ``(module, class name)``.
"""

from __future__ import annotations

from importlib import import_module

from kinject import hookimpl
from kinject.hookspecs import Register

#: (module under kinject_plugins.trainers, class name)
BUILTIN_TRAINERS: list[tuple[str, str]] = [
    ("sft", "SFTTrainer"),
    ("ewc", "EWCTrainer"),
    ("distill", "DistillTrainer"),
    ("rag", "RAGTrainer"),
    ("multistage", "MultiStageTrainer"),
    ("rlhf", "RLHFTrainer"),
    ("dpo", "DPOTrainer"),
    ("dpo", "KTOTrainer"),
    ("dpo", "ORPOTrainer"),
]


@hookimpl
def register_trainers(register: Register) -> None:
    # Modules are imported inside the hook so loading the plugin stays cheap (no torch).
    for module, class_name in BUILTIN_TRAINERS:
        register(getattr(import_module(f"kinject_plugins.trainers.{module}"), class_name))
