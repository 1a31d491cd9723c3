"""Live progress on the terminal (rich): one display per running stage, the bars of its steps in it.

Nothing is drawn unless stderr is a terminal: in a pipe or a log file a run prints lines only.
While a :class:`StageDisplay` is on screen, :func:`track` and :func:`live_bar` add their bars to
it (rich shows one live display at a time); without one they draw a display of their own.
Under ``kinject.console.library_output(verbose=True)`` nothing is drawn, since the libraries'
own bars and logs then write to the same terminal.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress, Task, TaskID
    from rich.text import Text

T = TypeVar("T")

#: the stage display on screen now, if any (rich allows one live display at a time)
_live: list[Progress] = []


def terminal() -> Console | None:
    """A rich console on stderr when it is a terminal and live output is allowed, else None."""
    from kinject.console import verbose

    if verbose():
        return None
    from rich.console import Console

    console = Console(stderr=True)
    return console if console.is_terminal else None


def format_duration(seconds: float | None) -> str:
    """``75.4`` -> ``'1:15'``, ``3725`` -> ``'1:02:05'``; ``''`` when unknown."""
    if seconds is None or seconds < 0:
        return ""
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _columns() -> tuple[Any, ...]:
    from rich.progress import (
        BarColumn,
        ProgressColumn,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )
    from rich.text import Text

    class Count(ProgressColumn):
        """``done/total``; nothing for a spinner without a total."""

        def render(self, task: Task) -> Text:
            if task.total is None:
                return Text("")
            return Text(f"{int(task.completed)}/{int(task.total)}", style="progress.download")

    class Remaining(ProgressColumn):
        """The task's own ``eta_s`` field where it computes one, else rich's estimate."""

        def render(self, task: Task) -> Text:
            if task.finished or task.total is None:
                return Text("")
            eta = task.fields.get("eta_s", task.time_remaining)
            return Text(
                f"eta {format_duration(eta)}" if eta is not None else "", style="progress.remaining"
            )

    return (
        SpinnerColumn(finished_text="[green]✓"),
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=30),
        Count(),
        TimeElapsedColumn(),
        Remaining(),
        TextColumn("{task.fields[info]}"),
    )


def _progress(console: Console, transient: bool) -> Progress:
    from rich.progress import Progress

    return Progress(*_columns(), console=console, transient=transient)


class Bar:
    """One bar of the live display; every method does nothing when nothing is drawn."""

    def __init__(self, progress: Progress | None = None, task: TaskID | None = None) -> None:
        self.progress, self.task = progress, task

    def advance(self, steps: float = 1.0) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, steps)

    def update(self, **changes: Any) -> None:
        """``completed``, ``total``, ``description``, ``info`` (text after the bar), ``eta_s``."""
        if self.progress is not None and self.task is not None:
            self.progress.update(self.task, **changes)

    def finish(self) -> None:
        """Mark the bar complete (a bar without a total gets one)."""
        if self.progress is not None and self.task is not None:
            task = self.progress.tasks[self.task]
            total = task.total if task.total is not None else task.completed or 1
            self.progress.update(self.task, total=total, completed=total)


@contextlib.contextmanager
def live_bar(
    description: str, total: float | None = None, enabled: bool = True, info: str = ""
) -> Iterator[Bar]:
    """A bar for the duration of the block: in the stage display when one is up, else its own."""
    if not enabled:
        yield Bar()
        return
    if _live:
        progress = _live[-1]
        yield Bar(progress, progress.add_task(description, total=total, info=info))
        return
    console = terminal()
    if console is None:
        yield Bar()
        return
    with _progress(console, transient=False) as progress:
        _live.append(progress)
        try:
            yield Bar(progress, progress.add_task(description, total=total, info=info))
        finally:
            _live.remove(progress)


@contextlib.contextmanager
def inner_bar(description: str, total: float | None = None) -> Iterator[Bar]:
    """A bar for work inside a step (the batches an evaluator scores), drawn only in a live display
    already on screen and taken away when the block ends: library code that knows nothing of the
    run's console settings may use it, and it draws nothing under ``-q``, ``-v`` or in a pipe."""
    if not _live:
        yield Bar()
        return
    progress = _live[-1]
    task = progress.add_task(f"  {description}", total=total, info="")
    try:
        yield Bar(progress, task)
    finally:
        progress.remove_task(task)


def track(
    items: Iterable[T], description: str, total: int | None = None, enabled: bool = True
) -> Iterator[T]:
    """Yield from ``items`` while a bar counts them (on a terminal only)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with live_bar(description, total=total, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.advance()
        bar.finish()


class StageDisplay:
    """The live display of the running stage: a spinner with its name, then its steps' bars.

    ``start`` puts it on screen, ``stop`` takes it away (leaving nothing behind), so the one line
    printed for the finished stage follows the lines of the stages before it.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.progress: Progress | None = None

    def start(self, stage: str) -> None:
        self.stop()
        console = terminal() if self.enabled else None
        if console is None:
            return
        self.progress = _progress(console, transient=True)
        self.progress.add_task(stage, total=None, info="")
        self.progress.start()
        _live.append(self.progress)

    def stop(self) -> None:
        if self.progress is None:
            return
        self.progress.stop()
        if self.progress in _live:
            _live.remove(self.progress)
        self.progress = None
