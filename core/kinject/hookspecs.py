"""The plugin contract: every hook kinject calls, grouped by phase.

Registry hooks receive a ``register`` callable and hand it factories (classes with a ``name``
attribute, see :mod:`kinject.components`). The core's registry refuses a duplicate name and names
both plugins. Hooks are changed only by adding arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import click

    from kinject.context import RunContext

hookspec = pluggy.HookspecMarker("kinject")

Register = Callable[..., None]

# -- data stages --------------------------------------------------------------------------------


@hookspec
def register_sources(register: Register) -> None:
    """Register sources: things that turn a URI into Records.

    :param register: call ``register(SourceClass)`` for each :class:`kinject.components.Source`.
    """


@hookspec
def register_cleaners(register: Register) -> None:
    """Register cleaners: Record -> Record, or a drop with a reason code.

    :param register: call ``register(CleanerClass)`` for each :class:`kinject.components.Cleaner`.
    """


@hookspec
def register_augmenters(register: Register) -> None:
    """Register augmenters: Records -> more Records (paraphrases, QA pairs, preference pairs).

    :param register: call ``register(AugmenterClass)`` for each
        :class:`kinject.components.Augmenter`.
    """


# -- training and judging -----------------------------------------------------------------------


@hookspec
def register_trainers(register: Register) -> None:
    """Register training strategies (``sft``, ``ewc``, ``rlhf``, ``distill``, ``rag``, ...).

    :param register: call ``register(TrainerClass)`` for each :class:`kinject.components.Trainer`.
    """


@hookspec
def register_evaluators(register: Register) -> None:
    """Register evaluators: a model plus the eval set -> named metrics.

    :param register: call ``register(EvaluatorClass)`` for each
        :class:`kinject.components.Evaluator`.
    """


@hookspec
def register_exporters(register: Register) -> None:
    """Register exporters: a trained model -> artifacts (adapter, merged weights, GGUF, card).

    :param register: call ``register(ExporterClass)`` for each
        :class:`kinject.components.Exporter`.
    """


# -- domains and the command line ---------------------------------------------------------------


@hookspec
def register_domains(register: Register) -> None:
    """Register domain packs.

    :param register: call ``register(pack)`` with a :class:`kinject.domains.DomainPack`.
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``inject`` command line.

    :param cli: the top-level click group; use ``@cli.command()`` inside the hook.
    """


# -- observers ----------------------------------------------------------------------------------


@hookspec
def stage_started(stage: str, context: RunContext) -> None:
    """Called when a stage (``sources``, ``cleaners``, ``train``, ...) starts running.

    :param stage: the stage name.
    :param context: the run's :class:`kinject.context.RunContext`.
    """


@hookspec
def stage_finished(stage: str, context: RunContext, stats: dict[str, Any]) -> None:
    """Called when a stage finishes (or is skipped because its output is current).

    :param stage: the stage name.
    :param context: the run's context.
    :param stats: the stage's counters and timings, as written to the manifest.
    """
