"""How a component comes to hold the run's context: ``setup`` keeps it, so does a method handed one.

``Component.__init_subclass__`` wraps ``setup`` and each method that is handed a context (named in
the kind's ``context_in``, or taking a ``job`` first) so that the context is kept on the component
before the method's own code runs.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from kinject.errors import PluginError

if TYPE_CHECKING:
    from kinject.components import Component
    from kinject.context import RunContext


def keeping_context(setup: Any) -> Any:
    """``setup`` that first keeps the run's context and seed on the component."""
    if getattr(setup, "keeps_context", False):
        return setup

    @functools.wraps(setup)
    def keeping(self: Component, context: RunContext) -> None:
        self.context, self.seed = context, context.seed
        setup(self, context)

    keeping.keeps_context = True  # type: ignore[attr-defined]
    return keeping


#: finds the run's context among a method's arguments (positional after ``self``, keywords)
ContextPicker = Callable[[tuple[Any, ...], dict[str, Any]], "RunContext | None"]


def context_argument(position: int, name: str = "context") -> ContextPicker:
    """The picker of a context handed as argument ``name``, ``position`` after ``self``."""

    def pick(args: tuple[Any, ...], kwargs: dict[str, Any]) -> RunContext | None:
        found = kwargs.get(name, args[position] if len(args) > position else None)
        return cast("RunContext | None", found)

    return pick


def job_context(args: tuple[Any, ...], kwargs: dict[str, Any]) -> RunContext | None:
    job = kwargs.get("job", args[0] if args else None)
    return cast("RunContext | None", getattr(job, "context", None))


def context_methods(cls: type[Component]) -> dict[str, ContextPicker]:
    """The methods ``cls`` defines that are handed a context: named, or taking a ``job`` first."""
    found = {m: pick for m, pick in cls.context_in.items() if m in cls.__dict__}
    for name, value in cls.__dict__.items():
        if inspect.isfunction(value) and name not in found:
            first = list(inspect.signature(value).parameters)[1:2]
            if first == ["job"]:
                found[name] = job_context
    return found


def working_in(method: Any, pick: ContextPicker) -> Any:
    """``method`` that first keeps the context it is handed (when it is handed one)."""
    if getattr(method, "keeps_context", False):
        return method

    @functools.wraps(method)
    def working(self: Component, *args: Any, **kwargs: Any) -> Any:
        context = pick(args, kwargs)
        if context is not None:
            self.context, self.seed = context, context.seed
        return method(self, *args, **kwargs)

    working.keeps_context = True  # type: ignore[attr-defined]
    return working


def missing_context(component: Component) -> PluginError:
    """The one-line error for a run component whose context is read before it has one."""
    return PluginError(
        f"{component.kind} {component.name!r} ({_defined_in(type(component))}) was used before "
        "setup(context): call setup(run_context) first, as the engine does"
    )


def _defined_in(cls: type) -> str:
    try:
        return inspect.getfile(cls)
    except (TypeError, OSError):
        return cls.__module__
