"""Where library output goes while a command runs: a log file in the run directory.

A command that writes into a run directory wraps its work in :func:`library_output`::

    from kinject.console import library_output

    with library_output(run_dir, verbose=verbose, quiet=quiet):
        ...

Inside the block:

- the Python ``logging`` of transformers, trl, peft, datasets, accelerate, huggingface_hub,
  sentence_transformers, torch (and anything logged on the root logger), and ``warnings``
  (FutureWarning, DeprecationWarning, ...) go to ``<run_dir>/logs/libraries.log``;
- the libraries' own tqdm bars (``Loading weights``, ``Map``, downloads) are off;
- kinject's own log records go to ``<run_dir>/logs/kinject.log``, and its warnings also to the
  terminal unless ``quiet``;
- ``kinject.training`` (one JSON line per training log step, written by the trainers) goes to
  ``<run_dir>/logs/training.log``.

With ``verbose=True`` the libraries keep their terminal output as it is without kinject (their
bars, their handlers, warnings on stderr) and the log files get a copy; kinject's live display is
off then (:func:`verbose` says so), since raw library output would garble it. Everything is put
back as it was when the block ends.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from kinject.redact import redact_text

#: loggers whose records are library noise on the terminal
LIBRARIES = (
    "transformers",
    "trl",
    "peft",
    "datasets",
    "accelerate",
    "huggingface_hub",
    "sentence_transformers",
    "torch",
    "bitsandbytes",
    "filelock",
    "urllib3",
    "httpx",
)
#: kinject's own loggers
OWN = ("kinject", "kinject_plugins")
#: the logger trainers write their log steps to
TRAINING = "kinject.training"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass(frozen=True)
class ConsoleMode:
    """How the command running now shows its output."""

    log_dir: Path
    verbose: bool = False
    quiet: bool = False


_active: list[ConsoleMode] = []


def current() -> ConsoleMode | None:
    """The mode of the innermost :func:`library_output` block, or None outside one."""
    return _active[-1] if _active else None


def verbose() -> bool:
    """True inside ``library_output(verbose=True)``: raw library output on the terminal."""
    mode = current()
    return mode is not None and mode.verbose


@contextlib.contextmanager
def library_output(
    run_dir: Path, verbose: bool = False, quiet: bool = False
) -> Iterator[ConsoleMode]:
    """Send library logging, warnings and tqdm bars to ``<run_dir>/logs/`` for the block."""
    mode = ConsoleMode(Path(run_dir) / "logs", verbose=verbose, quiet=quiet)
    mode.log_dir.mkdir(parents=True, exist_ok=True)
    _configure_libraries()
    with contextlib.ExitStack() as stack:
        libraries = _file_handler(mode.log_dir / "libraries.log", logging.DEBUG)
        stack.callback(libraries.close)
        _header(libraries)
        if verbose:
            stack.enter_context(_teed(libraries))
        else:
            stack.enter_context(_routed(("", "py.warnings", *LIBRARIES), [libraries]))
            stack.enter_context(_library_bars_off())
        stack.enter_context(_captured_warnings(libraries if verbose else None))
        own = _file_handler(mode.log_dir / "kinject.log", logging.INFO)
        stack.callback(own.close)
        stack.enter_context(_routed(OWN, [own, *_own_terminal(quiet)], level=logging.INFO))
        training = _file_handler(
            mode.log_dir / "training.log", logging.INFO, "%(asctime)s %(message)s"
        )
        stack.callback(training.close)
        stack.enter_context(_routed((TRAINING,), [training], level=logging.INFO))
        _active.append(mode)
        stack.callback(_active.remove, mode)
        yield mode


def _configure_libraries() -> None:
    """Let transformers attach its own stderr handler now, so the routing below replaces it."""
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        hf_logging.get_verbosity()


class _RedactingFormatter(logging.Formatter):
    """Log lines without secrets: a library may log a URL with a password or a request header."""

    def format(self, record: logging.LogRecord) -> str:
        return redact_text(super().format(record))


def _file_handler(path: Path, level: int, fmt: str = LOG_FORMAT) -> logging.FileHandler:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setLevel(level)
    handler.setFormatter(_RedactingFormatter(fmt))
    return handler


def _header(handler: logging.Handler) -> None:
    """One line saying which command the records below come from (re-runs append)."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")
    handler.stream.write(f"--- {stamp} {redact_text(' '.join(sys.argv))}\n")  # type: ignore[attr-defined]
    handler.flush()


def _own_terminal(quiet: bool) -> list[logging.Handler]:
    """kinject's warnings on stderr, as one plain line each (none with ``quiet``)."""
    if quiet:
        return []
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(_RedactingFormatter("%(levelname)s: %(message)s"))
    return [handler]


@contextlib.contextmanager
def _routed(
    names: tuple[str, ...], handlers: list[logging.Handler], level: int | None = None
) -> Iterator[None]:
    """Give the loggers ``names`` only ``handlers`` (no propagation) until the block ends."""
    saved = [_save(logging.getLogger(name)) for name in names]
    for name in names:
        logger = logging.getLogger(name)
        logger.handlers = list(handlers)
        logger.propagate = False
        if level is not None and logger.getEffectiveLevel() > level:
            logger.setLevel(level)
    try:
        yield
    finally:
        _restore(saved)


@contextlib.contextmanager
def _teed(handler: logging.Handler) -> Iterator[None]:
    """Verbose: the terminal output stays as it is; the log file gets a copy."""
    root_terminal = logging.StreamHandler(sys.stderr)  # what Python prints for an unconfigured root
    root_terminal.setLevel(logging.WARNING)
    own_handlers = [n for n in LIBRARIES if not logging.getLogger(n).propagate]
    saved = [_save(logging.getLogger(n)) for n in ("", *own_handlers)]
    root = logging.getLogger()
    root.handlers = [*root.handlers, handler, *([] if root.handlers else [root_terminal])]
    for name in own_handlers:  # libraries that print through a handler of their own (transformers)
        logging.getLogger(name).addHandler(handler)
    try:
        yield
    finally:
        _restore(saved)


def _save(logger: logging.Logger) -> tuple[logging.Logger, list[logging.Handler], bool, int]:
    return logger, list(logger.handlers), logger.propagate, logger.level


def _restore(saved: list[tuple[logging.Logger, list[logging.Handler], bool, int]]) -> None:
    for logger, handlers, propagate, level in saved:
        logger.handlers, logger.propagate = handlers, propagate
        logger.setLevel(level)


@contextlib.contextmanager
def _captured_warnings(copy_to: logging.Handler | None = None) -> Iterator[None]:
    """``warnings.warn`` -> the ``py.warnings`` logger; with ``copy_to``, shown as usual and copied
    there.
    """
    with warnings.catch_warnings():  # restores the filters and ``showwarning`` afterwards
        # the first occurrence of each warning, DeprecationWarning included
        warnings.simplefilter("default")
        if copy_to is not None:
            warnings.showwarning = _teed_warning(warnings.showwarning, copy_to)
            yield
            return
        logging.captureWarnings(True)
        try:
            yield
        finally:
            logging.captureWarnings(False)


def _teed_warning(show: Callable[..., None], handler: logging.Handler) -> Callable[..., None]:
    def show_and_copy(
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        show(message, category, filename, lineno, file, line)
        text = warnings.formatwarning(message, category, filename, lineno, line)
        handler.handle(
            logging.makeLogRecord(
                {
                    "name": "py.warnings",
                    "levelno": logging.WARNING,
                    "levelname": "WARNING",
                    "msg": text,
                }
            )
        )

    return show_and_copy


@contextlib.contextmanager
def _library_bars_off() -> Iterator[None]:
    """Turn off the tqdm bars of transformers, huggingface_hub and datasets, then restore them."""
    restore: list[Callable[[], object]] = []
    with contextlib.suppress(ImportError):
        from huggingface_hub import utils as hub

        if not hub.are_progress_bars_disabled():
            hub.disable_progress_bars()
            restore.append(hub.enable_progress_bars)
    with contextlib.suppress(ImportError):
        from transformers.utils import logging as hf_logging

        if hf_logging.is_progress_bar_enabled():
            hf_logging.disable_progress_bar()
            restore.append(hf_logging.enable_progress_bar)
    with contextlib.suppress(ImportError):
        import datasets

        if datasets.is_progress_bar_enabled():
            datasets.disable_progress_bars()
            restore.append(datasets.enable_progress_bars)
    try:
        yield
    finally:
        for enable in reversed(restore):
            enable()
