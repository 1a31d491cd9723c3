"""Assembles the click group: the run options, the builtin command groups, plugin commands."""

from __future__ import annotations

import click

from kinject import __version__


def build_cli() -> click.Group:
    from kinject.cli import chat_cmds, compare_cmd, data_cmds, inspect_cmds, run_cmd

    @click.group(
        invoke_without_command=True,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
        epilog="\b\nExamples:\n  inject --domain legal\n  inject --domain legal --corpus "
        "./contracts/ --strategy sft\n"
        "  inject prepare --domain legal\n  inject eval --model smollm2-135m --domain legal\n  "
        "inject plugins --kind source",
    )
    @click.version_option(__version__, prog_name="kinject")
    @run_cmd.run_options
    @click.pass_context
    def cli(ctx: click.Context, **options: object) -> None:
        """Inject domain knowledge into a language model.

        With --domain (or --config), runs the whole flow: sources -> cleaners -> augmenters ->
        split -> train -> evaluate -> export, and writes a report of what the model learned and
        what it forgot. The subcommands below run one part of that flow (prepare, eval, export,
        ingest) or inspect plugins, domains, recipes and past runs.
        """
        if ctx.invoked_subcommand is not None:
            return
        if not options.get("domain") and not options.get("config"):
            click.echo(ctx.get_help())
            return
        run_cmd.run_from_cli(options)

    for command in (
        data_cmds.prepare_cmd,
        data_cmds.eval_cmd,
        data_cmds.export_cmd,
        data_cmds.ingest_cmd,
        compare_cmd.compare_cmd,
        chat_cmds.chat_cmd,
        chat_cmds.serve_cmd,
        inspect_cmds.plugins_cmd,
        inspect_cmds.domains_cmd,
        inspect_cmds.validate_cmd,
        inspect_cmds.runs_cmd,
    ):
        cli.add_command(command)
    _add_plugin_commands(cli)
    return cli


def _add_plugin_commands(cli: click.Group) -> None:
    """Let plugins add commands; a broken plugin is skipped so --help keeps working."""
    from kinject.plugins import get_plugins

    plugins = get_plugins()
    hook = plugins.pm.hook.register_commands
    for impl in hook.get_hookimpls():
        try:
            impl.function(cli)
        except Exception as exc:  # one plugin's bad command must not break the CLI
            info = plugins.info.get(impl.plugin_name)
            if info is not None:
                info.error = f"register_commands: {exc}"
