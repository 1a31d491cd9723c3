"""Commands that look, never train: plugins, domains, validate, runs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

KINDS = ("source", "cleaner", "augmenter", "trainer", "evaluator", "exporter", "domain")


def _table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    console = Console()
    Console(width=max(120, console.width) if not console.is_terminal else None).print(table)


#: the columns of ``inject plugins`` (and the keys of each ``--json`` row)
PLUGIN_COLUMNS = ["kind", "name", "plugin", "distribution", "version", "description"]


@click.command("plugins")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of plugin.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def plugins_cmd(kind: str | None, as_json: bool) -> None:
    """List every registered plugin with its distribution, version and description."""
    from kinject.errors import PluginError
    from kinject.plugins import get_plugins

    plugins = get_plugins()
    rows = []
    for k in [kind] if kind else KINDS:
        try:
            entries = list(plugins.registry(k))
        except PluginError as exc:
            click.secho(f"Error: {exc}", fg="red", err=True)
            continue
        rows += [
            [
                k,
                e.name,
                e.plugin,
                e.distribution,
                e.version,
                str(getattr(e.obj, "description", "") or ""),
            ]
            for e in sorted(entries, key=lambda e: e.name)
        ]
    failed = plugins.failures
    if as_json:
        click.echo(
            json.dumps(
                {
                    "plugins": [dict(zip(PLUGIN_COLUMNS, r, strict=True)) for r in rows],
                    "failed": [{"plugin": f.name, "error": f.error} for f in failed],
                },
                indent=2,
            )
        )
        return
    _table("kinject plugins", PLUGIN_COLUMNS, rows)
    for info in failed:
        click.secho(
            f"plugin {info.name} ({info.distribution or 'builtin'}) failed to load: {info.error}",
            fg="red",
            err=True,
        )


@click.command("domains")
def domains_cmd() -> None:
    """List installed domain packs, their versions and what they contain."""
    from kinject.plugins import get_plugins

    rows, descriptions = [], []
    for entry in get_plugins().domains():
        pack = entry.obj
        s = pack.summary()
        rows.append(
            [
                pack.name,
                entry.distribution,
                pack.version,
                str(s["terms"]),
                str(s["corpus_files"]),
                str(s["eval_items"]),
                str(s["rubric_criteria"]),
            ]
        )
        descriptions.append(f"{pack.name}: {pack.description}")
    if not rows:
        click.echo("No domain packs installed. Install one, e.g.: pip install kinject-legal")
        return
    _table(
        "domain packs",
        [
            "name",
            "distribution",
            "version",
            "terms",
            "corpus files",
            "eval items",
            "rubric criteria",
        ],
        rows,
    )
    for line in descriptions:
        click.echo(line)


@click.command("validate")
@click.argument("config", type=click.Path(path_type=Path))
@click.option("--domain", help="Validate as if run with --domain NAME.")
def validate_cmd(config: Path, domain: str | None) -> None:
    """Check a recipe: every problem is listed at once; exits non-zero if any."""
    from kinject.pipeline import resolve_config
    from kinject.plugins import get_plugins

    resolved, _ = resolve_config(get_plugins(), domain, config)
    click.echo(
        f"{config}: OK (strategy {resolved.strategy}, {len(resolved.cleaners)} cleaners, "
        f"{len(resolved.augmenters)} augmenters, {len(resolved.evaluators)} evaluators)"
    )


@click.command("runs")
@click.option(
    "--root",
    type=click.Path(path_type=Path),
    default=Path("runs"),
    show_default=True,
    help="Folder of runs.",
)
def runs_cmd(root: Path) -> None:
    """List past runs (trained, prepared or evaluated) and their headline metrics."""
    manifests = (
        sorted(root.glob("*/manifest.json"), key=lambda p: p.stat().st_mtime)
        if root.exists()
        else []
    )
    if not manifests:
        click.echo(f"No runs under {root}/")
        return
    rows = [_run_row(path) for path in manifests]
    _table(f"runs in {root}/", ["run", "domain", "strategy", "status", "created", "headline"], rows)


def _run_row(path: Path) -> list[str]:
    """One row of ``inject runs``; a manifest that cannot be read is shown as such, not skipped."""
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return [path.parent.name, "–", "–", "unreadable manifest", "", "–"]
    if not isinstance(m, dict):
        return [path.parent.name, "–", "–", "unreadable manifest", "", "–"]
    cfg: dict[str, Any] = m["config"] if isinstance(m.get("config"), dict) else {}
    evaluated: dict[str, Any] | None = (
        m["evaluated_model"] if isinstance(m.get("evaluated_model"), dict) else None
    )
    what = f"eval of {evaluated.get('label')}" if evaluated else str(cfg.get("strategy") or "–")
    return [
        path.parent.name,
        str(cfg.get("domain") or "–"),
        what,
        str(m.get("status", "?")),
        str(m.get("created", "")),
        _headline(m.get("headline")),
    ]


def _headline(headline: object) -> str:
    """``knowledge-qa 20.0%→40.0% (n=70, within noise (p = 0.41))`` for a trained run,
    ``knowledge-qa 40.0%`` for one model."""
    from kinject.report import fmt
    from kinject.stats import describe_p

    if not isinstance(headline, dict):
        return "–"
    parts = []
    for key, value in headline.items():
        if not isinstance(value, dict):
            continue
        name = key.split(".")[0]
        if "trained" in value:
            facts = [f"n={value['n']}"] if value.get("n") else []
            if isinstance(value.get("p_value"), int | float):
                facts.append(describe_p(value["p_value"]))
            note = f" ({', '.join(facts)})" if facts else ""
            parts.append(f"{name} {fmt(key, value.get('base'))}→{fmt(key, value['trained'])}{note}")
        elif "value" in value:
            parts.append(f"{name} {fmt(key, value['value'])}")
    return "; ".join(parts) or "–"
