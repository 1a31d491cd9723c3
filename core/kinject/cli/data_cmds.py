"""``inject prepare``, ``inject eval``, ``inject export`` and ``inject ingest``: one part of a run
each.

The work is done in :mod:`kinject.commands`; this module parses options and prints.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from kinject.cli.inspect_cmds import _table
from kinject.cli.run_cmd import (
    console_flags,
    open_from_cli,
    parse_settings,
    run_options,
    stage_lines,
)

if TYPE_CHECKING:
    from kinject.commands import IngestOutcome, PrepareOutcome
    from kinject.model_eval import EvalOutcome
    from kinject.plugins import Plugins
    from kinject.records import Record


@contextmanager
def _console(
    plugins: Plugins, run_dir: Path, quiet: bool = False, verbose: bool = False
) -> Iterator[None]:
    """As during a run: a line per finished stage, library logs into ``<run_dir>/logs/``."""
    from kinject.console import library_output

    with library_output(run_dir, verbose=verbose, quiet=quiet), stage_lines(plugins, quiet):
        yield


def _short(text: str, width: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _where(record: Record) -> str:
    uri = str(record.source.get("uri", ""))
    name = Path(uri).name if "://" not in uri else uri
    page = record.source.get("page")
    return f"{name}, page {page}" if page is not None else name


# -- prepare ------------------------------------------------------------------------------------


@click.command(
    "prepare",
    epilog="\b\nExamples:\n  inject prepare --domain legal\n"
    "  inject prepare --domain legal --corpus ./contracts/ --set 'augmenters=[paraphrase]'\n"
    "  inject --domain legal --corpus ./contracts/     # then trains on the prepared data",
)
@click.option(
    "--samples",
    type=click.IntRange(0),
    default=2,
    show_default=True,
    metavar="N",
    help="Sample records shown for each kind of training record.",
)
@run_options
def prepare_cmd(samples: int, **options: Any) -> None:
    """Run the data stages only and show what a training would get.

    Sources -> cleaners -> chunk -> eval set -> augmenters -> split, in the run directory (and
    with the fingerprints) a full run with the same options uses: `inject` with the same options
    afterwards loads these stages instead of recomputing them. Prints records, tokens and drops
    per reason for every stage, the eval set, and a few records of each kind.
    """
    from kinject.commands import prepare_run

    context, quiet, verbose = open_from_cli(options)
    with _console(context.plugins, context.run_dir, quiet, verbose):
        outcome = prepare_run(context, samples)
    _show_prepared(outcome)


prepare_cmd.params = [p for p in prepare_cmd.params if p.name != "resume"]  # nothing is trained


def _show_prepared(outcome: PrepareOutcome) -> None:
    from kinject.commands import drop_counts

    rows = []
    for label, stats in outcome.stages:
        tokens = stats.get("tokens")
        total = tokens.get("total") if isinstance(tokens, dict) else None
        if label == "split":
            total = sum(k.tokens for k in outcome.kinds)
        drops = ", ".join(f"{k}: {v}" for k, v in drop_counts(stats).items()) or "–"
        rows.append(
            [
                label,
                str(stats.get("records", "–")),
                f"{total:,}" if total else "–",
                drops,
                "cached" if stats.get("skipped") else f"{stats.get('seconds', 0):.2f}s",
            ]
        )
    _table(
        f"prepared data in {outcome.run_dir}",
        ["stage", "records", "tokens", "dropped / quarantined", "time"],
        rows,
    )
    kinds = [[k.label, str(k.records), f"{k.tokens:,}"] for k in outcome.kinds]
    _table(f"training records (+{outcome.held_out} held out)", ["kind", "records", "tokens"], kinds)
    for kind in outcome.kinds:
        for record in kind.samples:
            click.echo(f"[{kind.label}] {_where(record)}: {_short(record.text)}")
    click.echo(
        f"Eval set: {outcome.eval_set.get('label', '–')} ({outcome.run_dir / 'eval_set.jsonl'})"
    )
    if outcome.eval_set.get("warning"):
        click.echo(outcome.eval_set["warning"])
    click.echo(f"Status: {outcome.status}. The same command without `prepare` trains on this data.")


# -- eval ---------------------------------------------------------------------------------------


@click.command(
    "eval",
    epilog="\b\nExamples:\n  inject eval --model smollm2-135m --domain legal\n"
    "  inject eval --model runs/legal-sft-1a2b3c4d --evaluators knowledge-qa\n"
    "  inject eval --model ./my-model/ --eval-set runs/legal-sft-1a2b3c4d/eval_set.jsonl",
)
@click.option(
    "--model",
    "-m",
    "model",
    required=True,
    metavar="MODEL",
    help="Alias, model directory, .gguf file, hub id in the local cache, or a run directory "
    "(its trained model: base + adapter).",
)
@click.option(
    "--eval-set",
    type=click.Path(path_type=Path, dir_okay=False),
    metavar="FILE",
    help="JSONL of questions (the format of a run's eval_set.jsonl).",
)
@click.option(
    "--domain",
    "-d",
    metavar="NAME",
    help="Domain pack: its evaluators and, without --eval-set, its sample questions.",
)
@click.option(
    "--evaluators",
    metavar="A,B",
    help="Comma-separated evaluators. Default: the recipe's, plus retention.",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Where results go. Default: runs/eval-<model>-<hash>.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a recipe value, e.g. --set evaluators.0.options.batch_size=4. Repeatable.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print only the metrics and the report path.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Show the libraries' raw logs (default: <output dir>/logs/).",
)
def eval_cmd(
    model: str,
    eval_set: Path | None,
    domain: str | None,
    evaluators: str | None,
    run_dir: Path | None,
    settings: tuple[str, ...],
    quiet: bool,
    verbose: bool,
) -> None:
    """Measure any model on any eval set with the evaluators of a run.

    Without --eval-set the questions are the domain pack's (--domain), or, for a run directory,
    the questions that run was measured on. Writes evaluation/<model>.json (every metric and
    per-question results) and report.md in the output directory; the same model, evaluators and
    questions again are loaded, not recomputed.
    """
    from kinject.context import RunContext
    from kinject.model_eval import (
        eval_config,
        eval_dir,
        eval_items_for,
        eval_target,
        evaluate_target,
    )
    from kinject.plugins import get_plugins

    console_flags({"quiet": quiet, "verbose": verbose})
    plugins = get_plugins()
    target = eval_target(model)
    layer = parse_settings(settings)
    if run_dir:
        layer["run_dir"] = str(run_dir)
    names = [n.strip() for n in evaluators.split(",") if n.strip()] if evaluators else None
    config, pack = eval_config(plugins, target, domain, names, layer)
    items, origin = eval_items_for(eval_set, pack, bool(domain), target)
    out = eval_dir(config, target, items)
    out.mkdir(parents=True, exist_ok=True)
    if not quiet:
        click.echo(f"Evaluating {target.label} on {origin['label']}; results in {out}", err=True)
    context = RunContext(
        run_dir=out,
        config=config,
        plugins=plugins,
        domain=pack,
        eval_items=items,
        eval_origin=origin,
        show_progress=not quiet,
    )
    with _console(plugins, out, quiet, verbose):
        outcome = evaluate_target(context, target)
    _show_evaluation(outcome)


def _show_evaluation(outcome: EvalOutcome) -> None:
    from kinject.model_eval import HEADLINE_KEYS, metric_line

    shown = [k for k in HEADLINE_KEYS if k in outcome.metrics]
    others = [
        k for k in outcome.metrics if k.count(".") == 1 and not k.endswith(".n") and k not in shown
    ]
    for key in shown + others:
        click.echo(metric_line(key, outcome.metrics))
    for name, detail in outcome.details.items():
        if isinstance(detail, dict) and "error" in detail:
            click.secho(f"{name} failed: {detail['error']}", fg="red", err=True)
    click.echo(
        f"Report: {outcome.report} (metrics and per-question results: "
        f"{outcome.out_dir / 'evaluation' / (outcome.target.label + '.json')})"
    )


# -- export -------------------------------------------------------------------------------------


@click.command(
    "export",
    epilog="\b\nExamples:\n  inject export runs/legal-sft-1a2b3c4d --to hf\n"
    "  inject export runs/legal-sft-1a2b3c4d --to gguf,ollama,card",
)
@click.argument("run_dir", type=click.Path(path_type=Path, file_okay=False, exists=True))
@click.option(
    "--to",
    "to",
    required=True,
    metavar="A,B",
    help="Comma-separated exporters (see `inject plugins --kind exporter`).",
)
@click.option(
    "--verbose", "-v", is_flag=True, help="Show the libraries' raw logs (default: RUN_DIR/logs/)."
)
def export_cmd(run_dir: Path, to: str, verbose: bool) -> None:
    """Export the trained model of a finished run after the fact.

    Each exporter writes into RUN_DIR/export/<name>/ and is recorded in the run's manifest and
    report. A failing exporter is reported and the others still run; the command then exits 1.
    """
    from kinject.commands import export_run
    from kinject.console import library_output
    from kinject.errors import KinjectError
    from kinject.plugins import get_plugins

    names = [n.strip() for n in to.split(",") if n.strip()]
    with library_output(run_dir, verbose=verbose):
        exports = export_run(run_dir, names, get_plugins())
    failed = []
    for name, outcome in exports.items():
        if "error" in outcome:
            failed.append(f"{name} ({outcome['error']})")
            click.secho(f"✗ {name}: {outcome['error']}", fg="red", err=True)
        else:
            click.echo(f"✓ {name}: {len(outcome['paths'])} files in {run_dir / 'export' / name}")
    if failed:
        raise KinjectError(
            f"{run_dir}: {len(failed)} of {len(exports)} exports failed: {'; '.join(failed)}"
        )


# -- ingest -------------------------------------------------------------------------------------


@click.command(
    "ingest",
    epilog="\b\nExamples:\n  inject ingest ./contracts/\n"
    "  inject ingest mail/*.eml --show 5\n  inject ingest report.pdf --json | head",
)
@click.argument("paths", nargs=-1, required=True, metavar="PATH...")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the records as JSON lines (quarantined inputs go to stderr).",
)
@click.option(
    "--show",
    type=click.IntRange(0),
    default=3,
    show_default=True,
    metavar="N",
    help="Records to print.",
)
@click.option(
    "--config",
    type=click.Path(path_type=Path),
    metavar="RECIPE",
    help="A recipe whose sources: block applies.",
)
@click.option(
    "--set",
    "settings",
    multiple=True,
    metavar="KEY=VALUE",
    help="Source settings, e.g. --set sources.ingest.workers=0. Repeatable.",
)
@click.option(
    "--run-dir",
    type=click.Path(path_type=Path, file_okay=False),
    help="Keep the records (ingest.jsonl) and quarantine.jsonl here. Default: a temporary "
    "directory.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
def ingest_cmd(
    paths: tuple[str, ...],
    as_json: bool,
    show: int,
    config: Path | None,
    settings: tuple[str, ...],
    run_dir: Path | None,
    quiet: bool,
) -> None:
    """Run the sources alone on files, folders, globs or URIs and show what they read.

    For checking a corpus or a new source plugin without a training run: records per file,
    inputs quarantined with their reason, and the first records. Nothing is written next to the
    inputs.
    """
    from kinject.commands import ingest_config, ingest_paths
    from kinject.config import load_yaml
    from kinject.plugins import get_plugins

    recipe = load_yaml(config) if config else {}
    resolved = ingest_config(parse_settings(settings), recipe, list(paths))
    outcome = ingest_paths(
        list(paths), get_plugins(), resolved, run_dir, show_progress=not quiet and not as_json
    )
    if as_json:
        for record in outcome.records:
            click.echo(json.dumps(record.to_dict(), ensure_ascii=False, default=str))
        for q in outcome.quarantined:
            click.echo(
                f"quarantined {q.get('uri')}: {q.get('reason')} ({q.get('plugin')}: "
                f"{q.get('detail')})",
                err=True,
            )
        return
    _show_ingested(outcome, show)


def _common_folder(uris: list[str]) -> str:
    """The folder every input lies in ('' for URIs or inputs on different roots)."""
    paths = [u for u in uris if u and "://" not in u]
    if not paths or len(paths) != len([u for u in uris if u]):
        return ""
    try:
        common = os.path.commonpath(paths)
    except ValueError:
        return ""
    return common if os.path.isdir(common) else os.path.dirname(common)


def _relative(uri: str, root: str) -> str:
    return os.path.relpath(uri, root) if root and uri.startswith(root) else uri


def _show_ingested(outcome: IngestOutcome, show: int) -> None:
    from kinject.commands import reason_counts

    root = _common_folder(
        [f.uri for f in outcome.files] + [str(q.get("uri", "")) for q in outcome.quarantined]
    )
    rows = [
        [_relative(f.uri, root), f.source, str(f.records), str(f.pages or "–"), f"{f.chars:,}"]
        for f in outcome.files
    ]
    under = f" under {root}" if root else ""
    _table(
        f"{len(outcome.records)} records from {len(outcome.files)} inputs{under}",
        ["input", "source", "records", "pages", "chars"],
        rows,
    )
    if outcome.quarantined:
        quarantined = [
            [
                _relative(str(q.get("uri", "")), root),
                str(q.get("plugin", "")),
                str(q.get("reason", "")),
                _short(str(q.get("detail", "")), 80),
            ]
            for q in outcome.quarantined
        ]
        _table(
            f"{len(quarantined)} quarantined", ["input", "plugin", "reason", "detail"], quarantined
        )
    else:
        click.echo("Nothing quarantined.")
    extra = outcome.stats.as_dict()
    notes = [f"{extra['duplicates']} duplicate records dropped"] if extra["duplicates"] else []
    notes += [f"{extra['skipped_hidden']} hidden files skipped"] if extra["skipped_hidden"] else []
    if outcome.quarantined:
        notes.append(
            "reasons: "
            + ", ".join(f"{k}: {v}" for k, v in reason_counts(outcome.quarantined).items())
        )
    if notes:
        click.echo("; ".join(notes))
    for record in outcome.records[:show]:
        click.echo(f"[{record.kind}] {_where(record)}: {_short(record.text, 300)}")
