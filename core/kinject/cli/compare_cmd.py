"""``inject compare``: every strategy on the same corpus, one table and one HTML report."""

from __future__ import annotations

from typing import Any

import click

from kinject.cli.run_cmd import console_flags, overrides_from, run_options, stage_lines


@click.command("compare")
@click.option(
    "--strategies",
    default="sft,ewc,distill,rag",
    show_default=True,
    help="Comma-separated strategies to compare (any installed trainer).",
)
@run_options
def compare_cmd(strategies: str, **options: Any) -> None:
    """Train every strategy on the same prepared data and compare them side by side.

    Writes compare.md, compare.json and compare.html (table plus plots: accuracy vs retention,
    accuracy vs train time, per-category accuracy) in the comparison directory.
    """
    from kinject.compare import check_strategies, compare_root, run_compare
    from kinject.compare_report import table_rows
    from kinject.console import library_output
    from kinject.pipeline import resolve_config
    from kinject.plugins import get_plugins

    names = [s.strip() for s in strategies.split(",") if s.strip()]
    quiet, verbose = console_flags(options)
    plugins = get_plugins()
    overrides = overrides_from(options)
    overrides["strategy"] = overrides.get("strategy") or names[0] if names else None
    config, pack = resolve_config(plugins, options.get("domain"), options.get("config"), overrides)
    check_strategies(config, plugins, names)  # before the comparison directory is made
    root = compare_root(config, names)
    with library_output(root, verbose=verbose, quiet=quiet), stage_lines(plugins, quiet):
        outcome = run_compare(config, plugins, pack, names, bool(options.get("resume")), not quiet)
    for row in table_rows(outcome.rows):
        click.echo("  ".join(f"{c:>12}" for c in row[:6]))
    click.echo(f"Report: {outcome.report} (and compare.html, compare.json)")
