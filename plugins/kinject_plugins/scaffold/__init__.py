"""Builtin commands for plugin authors: ``inject plugin new NAME --kind KIND [--dir PATH]``.

The new distribution is ready to ``pip install -e`` and test: a pyproject that declares the
``kinject`` entry point, one module with a working component and its ``register_*`` hook, one
test that uses the fixtures of :mod:`kinject.testing`, and a README.
"""

from __future__ import annotations

from pathlib import Path

import click

from kinject import hookimpl


@hookimpl
def register_commands(cli: click.Group) -> None:
    from kinject_plugins.scaffold.generator import PLUGIN_KINDS

    @cli.group(name="plugin")
    def plugin_group() -> None:
        """Write new plugins."""

    @plugin_group.command(name="new")
    @click.argument("name")
    @click.option(
        "--kind",
        type=click.Choice(list(PLUGIN_KINDS)),
        required=True,
        help="What the plugin registers.",
    )
    @click.option(
        "--dir",
        "directory",
        type=click.Path(file_okay=False, path_type=Path),
        default=Path("."),
        show_default=True,
        help="Where to create kinject-NAME/.",
    )
    def new_plugin(name: str, kind: str, directory: Path) -> None:
        """Create kinject-NAME/: a pip-installable plugin package with one module and one test."""
        from kinject_plugins.scaffold.generator import names_for, scaffold

        root = scaffold(name, kind, directory)
        values = names_for(name, kind)
        click.echo(
            f"Created {root}/ ({values['dist']}, module {values['module']}, {kind} '{name}')"
        )
        click.echo(
            f"Next: pip install -e '{root}[test]' && pytest {root} && inject plugins --kind {kind}"
        )
