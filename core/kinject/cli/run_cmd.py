"""``inject --domain NAME ...``: the options of a run and the console output while it runs."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import yaml

from kinject import hookimpl
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.progress import StageDisplay

if TYPE_CHECKING:
    from kinject.plugins import Plugins

RUN_OPTIONS = [
    click.option(
        "--domain", "-d", metavar="NAME", help="Domain pack to use (see `inject domains`)."
    ),
    click.option(
        "--corpus",
        "-c",
        multiple=True,
        metavar="PATH",
        help="File, directory, glob or URI (sql://...). Repeatable. Default: the pack's sample "
        "corpus.",
    ),
    click.option(
        "--base-model",
        "-m",
        metavar="MODEL",
        help="Alias, local dir, .gguf file or hub id. Default: smollm2-135m.",
    ),
    click.option(
        "--strategy",
        "-s",
        metavar="NAME",
        help=(
            "Training strategy: sft, ewc, distill, rag, rlhf, dpo, kto, orpo, multistage, or a "
            "plugin's (`inject plugins --kind trainer`). Default: sft."
        ),
    ),
    click.option(
        "--config",
        "config",
        type=click.Path(path_type=Path),
        metavar="RECIPE",
        help="YAML recipe; CLI flags override it, it overrides the domain's recipe.",
    ),
    click.option(
        "--run-dir",
        type=click.Path(path_type=Path),
        help="Where the run lives. Default: runs/<domain>-<strategy>-<hash>.",
    ),
    click.option(
        "--resume",
        is_flag=True,
        help="Continue an interrupted training from its last complete checkpoint.",
    ),
    click.option("--seed", type=int, help="Random seed for every stage."),
    click.option(
        "--set",
        "settings",
        multiple=True,
        metavar="KEY=VALUE",
        help="Override any recipe value, e.g. --set trainer.max_steps=20. Repeatable.",
    ),
    click.option(
        "--launcher",
        type=click.Choice(["none", "accelerate"]),
        help="Run training under `accelerate launch` (multi-GPU: DDP, FSDP, DeepSpeed).",
    ),
    click.option(
        "--num-processes", type=int, metavar="N", help="Processes for --launcher accelerate."
    ),
    click.option(
        "--quiet",
        "-q",
        is_flag=True,
        help="Print only the final summary (headline and report path).",
    ),
    click.option(
        "--verbose",
        "-v",
        is_flag=True,
        help="Show the libraries' raw logs, warnings and progress bars (default: <run_dir>/logs/).",
    ),
]


def run_options(func: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(RUN_OPTIONS):
        func = option(func)
    return func


def parse_settings(settings: tuple[str, ...]) -> dict[str, Any]:
    """``a.b=1`` -> ``{"a": {"b": 1}}``; values parsed as YAML scalars/lists."""
    out: dict[str, Any] = {}
    problems = []
    for item in settings:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            problems.append(f"--set {item!r}: expected KEY=VALUE")
            continue
        node = out
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = yaml.safe_load(raw)
    if problems:
        raise ConfigError(problems, source="command line")
    return out


def overrides_from(options: dict[str, Any]) -> dict[str, Any]:
    layer: dict[str, Any] = parse_settings(options.get("settings") or ())
    flags = {
        "base_model": options.get("base_model"),
        "strategy": options.get("strategy"),
        "seed": options.get("seed"),
        "launcher": options.get("launcher"),
        "num_processes": options.get("num_processes"),
        "run_dir": str(options["run_dir"]) if options.get("run_dir") else None,
    }
    if options.get("corpus"):
        flags["corpus"] = list(options["corpus"])
    layer.update({k: v for k, v in flags.items() if v is not None})
    return layer


class ConsoleObserver:
    """One line per finished stage, with counters per reason; while a stage runs, a live display
    of it (on a terminal: its name, its elapsed time and the bars of its steps)."""

    def __init__(self, live: bool = True) -> None:
        self.display = StageDisplay(enabled=live)

    @hookimpl
    def stage_started(self, stage: str, context: RunContext) -> None:
        self.display.start(stage.replace("_", " "))

    @hookimpl
    def stage_finished(self, stage: str, context: RunContext, stats: dict[str, Any]) -> None:
        self.display.stop()
        if stage == "eval_set":
            click.echo(f"✓ eval set: {stats.get('label', '')}", err=True)
            if stats.get("warning"):
                click.echo(stats["warning"], err=True)
            return
        click.echo(export_line(stats) if stage == "export" else stage_line(stage, stats), err=True)
        if stats.get("tokens_truncated"):
            click.echo(truncation_line(stats), err=True)


def truncation_line(stats: dict[str, Any]) -> str:
    """One line when the length limit still cut training text away."""
    cut, total = int(stats["tokens_truncated"]), int(stats.get("tokens") or 0)
    share = f" ({cut / total:.1%})" if total else ""
    return (
        f"warning: {cut:,} of {total:,} training tokens{share} are beyond the trainer's max_length "
        "and were not trained on (raise trainer.max_length or lower chunk.max_tokens)"
    )


def export_line(exports: dict[str, Any]) -> str:
    """``✓ export: adapter 3 files, gguf FAILED (...)``: each exporter's outcome on one line."""
    parts = [
        f"{name} FAILED ({out['error']})"
        if "error" in out
        else f"{name} {len(out.get('paths', []))} files"
        for name, out in exports.items()
    ]
    return "✓ export: " + (", ".join(parts) or "nothing to export")


def stage_line(stage: str, stats: dict[str, Any]) -> str:
    parts = []
    if "records" in stats:
        parts.append(f"{stats['records']} records")
    if "seconds" in stats:
        parts.append(f"{stats['seconds']}s")
    if "train_time_s" in stats:
        parts.append(f"{stats['train_time_s']:.0f}s training")
    if "passages_per_s" in stats:
        parts.append(
            f"{stats['passages']} passages indexed, {stats['passages_per_s']:,.0f} passages/s"
        )
    if isinstance(stats.get("tokens"), dict) and "passages" in stats:
        t = stats["tokens"]
        parts.append(
            f"{stats['passages']} passages from {stats.get('records_split', 0)} long records, "
            f"tokens per record {t['min']}/{t['median']:g}/{t['max']} (min/median/max, limit "
            f"{stats.get('max_tokens')})"
        )
    counters = {**stats.get("quarantined", {})}
    for cleaner, reasons in stats.get("dropped", {}).items():
        counters.update({f"{cleaner}:{r}": n for r, n in reasons.items()})
    if counters:
        parts.append(", ".join(f"{k}: {v}" for k, v in counters.items()))
    mark = "·" if stats.get("skipped") else "✓"
    note = " (unchanged, loaded)" if stats.get("skipped") else ""
    return f"{mark} {stage}{note}: " + "; ".join(parts)


def open_from_cli(options: dict[str, Any]) -> tuple[RunContext, bool, bool]:
    """The run a command's options name (recipe resolved, directory opened) and the console
    flags (quiet, verbose); says where the run lives unless quiet."""
    from kinject.pipeline import open_run, resolve_config
    from kinject.plugins import get_plugins

    quiet, verbose = console_flags(options)
    plugins = get_plugins()
    config, pack = resolve_config(
        plugins, options.get("domain"), options.get("config"), overrides_from(options)
    )
    context = open_run(config, plugins, pack, show_progress=not quiet)
    if not quiet:
        click.echo(f"Run directory: {context.run_dir}", err=True)
    return context, quiet, verbose


def run_from_cli(options: dict[str, Any]) -> None:
    from kinject.console import library_output
    from kinject.pipeline import run_pipeline
    from kinject.report import headline_text

    context, quiet, verbose = open_from_cli(options)
    plugins = context.plugins
    with library_output(context.run_dir, verbose=verbose, quiet=quiet), stage_lines(plugins, quiet):
        outcome = run_pipeline(context, resume=bool(options.get("resume")))
    for line in headline_text(outcome.metrics):
        click.echo(line)
    click.echo(f"Report: {outcome.report} (and report.html)")


def console_flags(options: dict[str, Any]) -> tuple[bool, bool]:
    """``(quiet, verbose)`` from ``-q`` / ``-v``, which exclude each other."""
    quiet, verbose = bool(options.get("quiet")), bool(options.get("verbose"))
    if quiet and verbose:
        raise ConfigError(
            "--quiet and --verbose exclude each other; pass one of them", source="command line"
        )
    return quiet, verbose


@contextlib.contextmanager
def stage_lines(plugins: Plugins, quiet: bool) -> Iterator[None]:
    """Stage lines and live displays on stderr for the block (none with ``quiet``)."""
    if quiet:
        yield
        return
    observer = ConsoleObserver()
    plugins.pm.register(observer, name="console")
    try:
        yield
    finally:
        observer.display.stop()  # an error mid-stage must not leave the live display running
        plugins.pm.unregister(observer)
