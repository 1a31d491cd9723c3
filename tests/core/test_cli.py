import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kinject.cli.app import build_cli
from kinject.domains import DomainPack
from kinject.plugins import Plugins


def invoke(*args: str) -> Any:
    """Run the CLI the way the ``inject`` script does (errors as one line)."""
    from kinject.cli import main

    runner = CliRunner()
    return runner.invoke(_Main(main), list(args), catch_exceptions=False)


class _Main:
    """Adapter so CliRunner can call ``kinject.cli.main`` (which owns error formatting)."""

    def __init__(self, main: Callable[..., None]) -> None:
        self.main_func = main
        self.name = "inject"

    def main(self, args: list[str], prog_name: str | None = None, **_: Any) -> None:
        self.main_func(args)


def test_help_lists_commands(kinject_plugins: Plugins) -> None:
    result = CliRunner().invoke(build_cli(), ["--help"])
    assert result.exit_code == 0
    for word in ("--domain", "--corpus", "--resume", "plugins", "domains", "validate", "runs"):
        assert word in result.output


@pytest.mark.parametrize("args", [["--help"], ["plugins"]])
def test_help_and_plugins_do_not_import_torch(args: list[str]) -> None:
    code = (
        "import sys\nfrom kinject.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


def test_plugins_lists_registered_plugin_with_version(registered_pack: DomainPack) -> None:
    result = invoke("plugins", "--kind", "domain")
    assert result.exit_code == 0
    assert "sample" in result.output


def test_domains_lists_pack_contents(registered_pack: DomainPack) -> None:
    result = invoke("domains")
    assert result.exit_code == 0, result.output
    assert "sample" in result.output and "0.0.1" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--domain", "astronomy"], "unknown domain 'astronomy'"),
        (["--domain", "sample", "--corpus", "/no/such/dir"], "corpus path not found: /no/such/dir"),
        (["--domain", "sample", "--strategy", "telepathy"], "unknown trainer 'telepathy'"),
        (["--domain", "sample", "--set", "seed"], "expected KEY=VALUE"),
    ],
)
def test_user_errors_are_one_line(
    registered_pack: DomainPack, tmp_path: Path, args: list[str], message: str
) -> None:
    result = invoke(
        *args,
        "--run-dir",
        str(tmp_path / "run"),
        "--set",
        "augmenters=[]",
        "--set",
        "evaluators=[]",
        "--set",
        "exporters=[]",
    )
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert any(message in line for line in lines), result.output
    assert "Traceback" not in result.output
    assert lines[-1].startswith("Error:")


def test_broken_recipe_lists_every_problem(registered_pack: DomainPack, tmp_path: Path) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("domain: sample\nseed: many\nbogus_key: 1\n", encoding="utf-8")
    result = invoke("validate", str(recipe))
    assert result.exit_code == 1
    assert (
        "2 problems" in result.output and "seed" in result.output and "bogus_key" in result.output
    )


def test_invalid_yaml_recipe(tmp_path: Path, kinject_plugins: Plugins) -> None:
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("cleaners: [normalize\n", encoding="utf-8")
    result = invoke("validate", str(recipe))
    assert result.exit_code == 1
    assert "invalid YAML" in result.output


def test_raise_errors_shows_traceback(
    kinject_plugins: Plugins, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinject.cli import main
    from kinject.errors import PluginError

    monkeypatch.setenv("KINJECT_RAISE_ERRORS", "1")
    with pytest.raises(PluginError):
        main(["--domain", "astronomy"])


def test_runs_lists_nothing_yet(tmp_path: Path, kinject_plugins: Plugins) -> None:
    result = invoke("runs", "--root", str(tmp_path))
    assert result.exit_code == 0
    assert "No runs" in result.output


def test_truncation_and_eval_set_lines() -> None:
    from kinject.cli.run_cmd import stage_line, truncation_line

    line = truncation_line({"tokens": 1000, "tokens_truncated": 25})
    assert line.startswith("warning: 25 of 1,000 training tokens (2.5%)") and "max_length" in line
    chunk = {
        "records": 12,
        "passages": 10,
        "records_split": 3,
        "max_tokens": 128,
        "tokens": {"min": 20, "median": 100.5, "max": 127},
    }
    assert "10 passages from 3 long records" in stage_line(
        "chunk", chunk
    ) and "20/100.5/127" in stage_line("chunk", chunk)


def test_export_line_names_each_exporter_and_its_outcome() -> None:
    from kinject.cli.run_cmd import export_line

    line = export_line(
        {"adapter": {"paths": ["a", "b", "c"]}, "gguf": {"error": "RuntimeError: no converter"}}
    )
    assert line == "✓ export: adapter 3 files, gguf FAILED (RuntimeError: no converter)"
    assert export_line({}) == "✓ export: nothing to export"
