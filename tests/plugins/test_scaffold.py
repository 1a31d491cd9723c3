"""``inject plugin new``: the generated distribution installs its entry point and its test
passes.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from kinject import __version__
from kinject.cli.app import build_cli
from kinject.errors import REASON_CODES, ConfigError
from kinject_plugins.scaffold.generator import PLUGIN_KINDS, names_for, render, scaffold


def _run_generated_tests(roots: list[Path]) -> subprocess.CompletedProcess[str]:
    """pytest on the generated tests, in a fresh process, with the new modules importable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KINJECT_LOAD_PLUGINS", "KINJECT_DISABLE_PLUGINS")
    }
    env.update(PYTHONPATH=os.pathsep.join(str(r) for r in roots), OMP_NUM_THREADS="1")
    args = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        *[str(r / "tests") for r in roots],
    ]
    return subprocess.run(
        args, cwd=roots[0].parent, env=env, capture_output=True, text=True, timeout=600
    )


def test_cli_creates_a_package(tmp_path: Path, kinject_plugins: object) -> None:
    result = CliRunner().invoke(
        build_cli(), ["plugin", "new", "wiki-export", "--kind", "source", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 0, result.output
    root = tmp_path / "kinject-wiki-export"
    assert f"Created {root}/" in result.output
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()) == [
        "README.md",
        "kinject_wiki_export.py",
        "pyproject.toml",
        "tests/test_kinject_wiki_export.py",
    ]
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from 3.11")
    project = tomllib.loads((root / "pyproject.toml").read_text())
    assert project["project"]["name"] == "kinject-wiki-export"
    assert project["project"]["entry-points"]["kinject"] == {"wiki-export": "kinject_wiki_export"}
    assert project["tool"]["setuptools"]["py-modules"] == ["kinject_wiki_export"]


def _install_metadata(root: Path, name: str) -> None:
    """What ``pip install -e`` leaves for importlib.metadata: the distribution and its entry
    point.
    """
    values = names_for(name, "source")
    info = root / f"{values['module']}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {values['dist']}\nVersion: 0.1.0\n"
    )
    (info / "entry_points.txt").write_text(f"[kinject]\n{name} = {values['module']}\n")


def test_generated_source_test_passes(tmp_path: Path, kinject_plugins: object) -> None:
    root = scaffold("notes", "source", tmp_path)
    _install_metadata(root, "notes")
    proc = _run_generated_tests([root])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout and "skipped" not in proc.stdout


def test_generated_registration_test_can_fail(tmp_path: Path, kinject_plugins: object) -> None:
    root = scaffold("notes", "source", tmp_path)
    _install_metadata(root, "notes")
    module = root / "kinject_notes.py"
    # the hook registers some other class under the plugin's name
    module.write_text(
        module.read_text().replace(
            "register(NotesSource)", "register(type('Other', (NotesSource,), {}))"
        )
    )
    proc = _run_generated_tests([root])
    assert "2 failed" in proc.stdout, proc.stdout
    assert "test_registered FAILED" in proc.stdout or "test_registered -" in proc.stdout


@pytest.mark.slow
def test_every_kind_generates_passing_tests(tmp_path: Path, kinject_plugins: object) -> None:
    roots = [scaffold(f"demo-{kind}", kind, tmp_path) for kind in PLUGIN_KINDS]
    proc = _run_generated_tests(roots)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " failed" not in proc.stdout and " passed" in proc.stdout


@pytest.mark.parametrize("kind", list(PLUGIN_KINDS))
def test_every_template_compiles_and_registers(kind: str, kinject_plugins: object) -> None:
    files = render("x-1", kind)
    module = files["kinject_x_1.py"]
    compile(module, "kinject_x_1.py", "exec")
    compile(files["tests/test_kinject_x_1.py"], "test.py", "exec")
    assert f"def {PLUGIN_KINDS[kind]}(register: Register)" in module
    assert f"class {names_for('x-1', kind)['cls']}(" in module


def test_source_template_uses_standard_reason_codes(kinject_plugins: object) -> None:
    module = render("x-1", "source")["kinject_x_1.py"]
    raised = set(re.findall(r'InputError\("(\w+)"', module))
    assert raised == {"bad_encoding", "unreadable", "empty_document"}
    assert raised <= set(REASON_CODES)


@pytest.mark.parametrize(
    ("name", "kind"), [("text", "source"), ("normalize", "cleaner"), ("sft", "trainer")]
)
def test_a_builtin_name_is_refused_in_one_line(
    tmp_path: Path, kinject_plugins: object, name: str, kind: str
) -> None:
    result = CliRunner().invoke(
        build_cli(), ["plugin", "new", name, "--kind", kind, "--dir", str(tmp_path)]
    )
    assert isinstance(result.exception, ConfigError)
    message = str(result.exception)
    assert message == (
        f"inject plugin new: {kind} '{name}' is already registered by plugin "
        f"{kinject_plugins.registry(kind).get(name).plugin} (kinject {__version__}); pick another "
        "name"
    )
    assert not (tmp_path / f"kinject-{name}").exists()


def test_a_name_taken_by_another_kind_is_refused(tmp_path: Path, kinject_plugins: object) -> None:
    with pytest.raises(ConfigError, match="module named kinject_plugins is already importable"):
        scaffold("plugins", "evaluator", tmp_path)


def test_bad_requests_list_every_problem(tmp_path: Path, kinject_plugins: object) -> None:
    with pytest.raises(ConfigError) as info:
        render("Bad Name", "widget")
    assert len(info.value.problems) == 2
    scaffold("twice", "cleaner", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        scaffold("twice", "cleaner", tmp_path)


def test_bad_kind_is_a_usage_error(tmp_path: Path, kinject_plugins: object) -> None:
    result = CliRunner().invoke(
        build_cli(), ["plugin", "new", "x", "--kind", "widget", "--dir", str(tmp_path)]
    )
    assert result.exit_code == 2 and "widget" in result.output
