"""The ``inject`` command line. ``main`` turns any KinjectError or OSError into one line on
stderr.
"""

from __future__ import annotations

import os
import sys

import click

from kinject.errors import KinjectError


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``inject`` and ``kinject`` scripts."""
    from kinject.cli.app import build_cli

    cli = build_cli()
    try:
        cli.main(args=argv, prog_name="inject", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KinjectError as exc:
        if os.environ.get("KINJECT_RAISE_ERRORS"):
            raise
        click.secho(f"Error: {exc}", fg="red", err=True)
        sys.exit(1)
    except OSError as exc:  # the machine, not the run: a full disk, a folder without permission
        if os.environ.get("KINJECT_RAISE_ERRORS"):
            raise
        where = f"{exc.filename}: " if exc.filename else ""
        click.secho(f"Error: {where}{exc.strerror or exc}", fg="red", err=True)
        sys.exit(1)
