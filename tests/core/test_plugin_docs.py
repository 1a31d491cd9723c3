"""The plugin docs hold: their Python blocks run (see docs/plugins/contributing.md for the rules),
their reason-code list is the code's, and their sample ``inject plugins`` output has the real
columns."""

from __future__ import annotations

import importlib
import inspect
import json
import re
import shutil
import sqlite3
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from kinject.cli.app import build_cli
from kinject.cli.inspect_cmds import PLUGIN_COLUMNS
from kinject.errors import ENGINE_REASON_CODES, REASON_CODES
from kinject.plugins import Plugins
from kinject_plugins.scaffold.generator import scaffold

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL, TESTING, SOURCES = (
    "docs/plugins/tutorial.md",
    "docs/plugins/testing.md",
    "docs/sources.md",
)
RUNNABLE = (TUTORIAL, TESTING, SOURCES)
FENCE = re.compile(r"^```(\S*)[ \t]*(\S*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
SCAFFOLD = re.compile(r"^inject plugin new (\S+) --kind (\S+)", re.M)


@dataclass
class Block:
    """One fenced code block: its language, its flag (``no-run`` or a file name), code and line."""

    lang: str
    flag: str
    code: str
    line: int


def _blocks(page: str) -> list[Block]:
    text = (ROOT / page).read_text(encoding="utf-8")
    return [
        Block(m[1], m[2], m[3], text.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(text)
    ]


def _setup_sources(work: Path) -> None:
    """The sample corpus sources.md's example reads: a folder and a SQLite table."""
    (work / "contracts").mkdir()
    (work / "contracts" / "lease.md").write_text(
        "# Lease\n\nTenants give 45 days notice.\n", encoding="utf-8"
    )
    with sqlite3.connect(work / "crm.db") as db:
        db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        db.execute("INSERT INTO notes VALUES (1, 'Call the landlord about the deposit.')")


def _setup_testing(work: Path) -> None:
    """testing.md tests the finished example source."""
    shutil.copy(ROOT / "examples" / "kinject-rss" / "kinject_rss.py", work / "kinject_rss.py")


SETUP: dict[str, Callable[[Path], None]] = {SOURCES: _setup_sources, TESTING: _setup_testing}


def _call_tests(namespace: dict[str, Any], label: str, request: pytest.FixtureRequest) -> int:
    """Call every ``test_*`` function the block ``label`` defined, with the fixtures it names."""
    tests = [
        fn
        for name, fn in namespace.items()
        if name.startswith("test_") and inspect.isfunction(fn) and fn.__code__.co_filename == label
    ]
    for fn in sorted(tests, key=lambda f: f.__code__.co_firstlineno):
        fn(**{name: request.getfixturevalue(name) for name in inspect.signature(fn).parameters})
    return len(tests)


def _forget_modules(under: Path, before: set[str]) -> None:
    """Drop the modules the page imported from its directory, so the next page imports its own."""
    for name in set(sys.modules) - before:
        file = getattr(sys.modules[name], "__file__", None) or ""
        if file.startswith(str(under)):
            del sys.modules[name]


@pytest.mark.parametrize("page", RUNNABLE)
def test_python_blocks_run(
    page: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
    kinject_plugins: Plugins,
) -> None:
    work = tmp_path / "docs"
    work.mkdir()
    monkeypatch.chdir(work)
    SETUP.get(page, lambda _: None)(work)
    blocks = _blocks(page)
    roots = [
        scaffold(name, kind, work)
        for b in blocks
        if b.lang == "bash"
        for name, kind in SCAFFOLD.findall(b.code)
    ]
    for root in [work, *roots]:
        monkeypatch.syspath_prepend(str(root))
    before, namespace = set(sys.modules), {"__name__": "docs_" + Path(page).stem}
    ran = called = 0
    try:
        for block in (b for b in blocks if b.lang == "python"):
            label = f"{page}:{block.line}"
            assert block.flag in ("", "no-run") or block.flag.endswith(".py"), (
                f"{label}: unknown flag {block.flag!r}"
            )
            if block.flag.endswith(".py"):
                (work / block.flag).parent.mkdir(parents=True, exist_ok=True)
                (work / block.flag).write_text(block.code, encoding="utf-8")
                importlib.invalidate_caches()
            elif not block.flag:
                exec(compile(block.code, label, "exec"), namespace)
                ran += 1
                called += _call_tests(namespace, label, request)
    finally:
        _forget_modules(work, before)
    assert ran, f"{page} has no Python block that runs"
    if page != SOURCES:
        assert called, f"{page} defines no test that ran"


def test_every_python_block_of_the_plugin_docs_has_a_known_flag() -> None:
    pages = [
        *RUNNABLE,
        *(p.relative_to(ROOT).as_posix() for p in (ROOT / "docs" / "plugins").glob("*.md")),
    ]
    flags = {
        f"{page}:{b.line}": b.flag
        for page in set(pages)
        for b in _blocks(page)
        if b.lang == "python"
    }
    assert flags
    assert not {k: v for k, v in flags.items() if v not in ("", "no-run") and not v.endswith(".py")}


def _table(page: str, heading: str) -> list[list[str]]:
    """The cells of the first markdown table after ``heading``."""
    text = (ROOT / page).read_text(encoding="utf-8")
    after = text[text.index(heading) :]
    lines = re.search(r"^(\|.*\n)+", after, flags=re.M)
    assert lines, f"no table after {heading!r} in {page}"
    rows = [
        [c.strip() for c in line.strip().strip("|").split("|")] for line in lines[0].splitlines()
    ]
    return [row for row in rows[2:]]  # past the header and the |---| line


def test_the_tutorial_lists_the_standard_reason_codes_of_the_code() -> None:
    rows = _table(TUTORIAL, "### Reason codes")
    documented = [(row[0].strip("`"), row[1]) for row in rows]
    assert documented == [
        (code, "engine" if code in ENGINE_REASON_CODES else "source") for code in REASON_CODES
    ]


def test_sources_md_lists_the_codes_every_file_can_get() -> None:
    codes = {row[0].strip("`") for row in _table(SOURCES, "whatever its source:")}
    assert ENGINE_REASON_CODES <= codes <= set(REASON_CODES)


def test_every_standard_code_is_used_by_the_engine_or_a_builtin_source() -> None:
    engine = "".join(
        (ROOT / "core" / "kinject" / f).read_text() for f in ("ingest.py", "ingest_worker.py")
    )
    sources = "".join(
        p.read_text() for p in (ROOT / "plugins" / "kinject_plugins" / "sources").glob("*.py")
    )
    for code in REASON_CODES:
        assert f'"{code}"' in (engine if code in ENGINE_REASON_CODES else sources), code


def _sample_plugins_output() -> list[list[str]]:
    text = (ROOT / TUTORIAL).read_text(encoding="utf-8")
    sample = next(
        b.code for b in _blocks(TUTORIAL) if b.lang == "text" and b.code.startswith("kind ")
    )
    assert "inject plugins --kind source" in text[: text.index(sample)]
    return [re.split(r"\s{2,}", line.strip()) for line in sample.strip().splitlines()]


def test_the_tutorials_inject_plugins_sample_is_what_the_command_prints(
    kinject_plugins: Plugins,
) -> None:
    header, *rows = _sample_plugins_output()
    assert header == PLUGIN_COLUMNS
    table = CliRunner().invoke(build_cli(), ["plugins", "--kind", "source"])
    assert table.exit_code == 0, table.output
    assert re.findall(r"[a-z]+", table.output.splitlines()[2]) == PLUGIN_COLUMNS
    listing = json.loads(
        CliRunner().invoke(build_cli(), ["plugins", "--kind", "source", "--json"]).output
    )
    real = {row["name"]: [row[c] for c in PLUGIN_COLUMNS] for row in listing["plugins"]}
    assert all(row["description"] for row in listing["plugins"])
    example = (ROOT / "examples" / "kinject-rss" / "kinject_rss.py").read_text(encoding="utf-8")
    description = re.search(r'^    description = "(.*)"$', example, flags=re.M)
    assert description
    real["rss"] = ["source", "rss", "rss", "kinject-rss", "0.1.0", description[1]]
    for row in rows:
        assert row == real[row[1]]


@pytest.mark.parametrize("page", [TUTORIAL, TESTING])
def test_the_commands_the_page_shows_exist_with_their_options(
    page: str, kinject_plugins: Plugins
) -> None:
    lines = [
        line.split("#")[0].split()
        for b in _blocks(page)
        if b.lang == "bash"
        for line in b.code.splitlines()
    ]
    shown = [words[1:] for words in lines if words[:1] == ["inject"]]
    assert shown
    for words in shown:
        command: click.Command = build_cli()
        for word in words:
            if not isinstance(command, click.Group) or word not in command.commands:
                break
            command = command.commands[word]
        known = {opt for param in command.params for opt in param.opts}
        assert {w for w in words if w.startswith("--")} <= known, f"inject {' '.join(words)}"
