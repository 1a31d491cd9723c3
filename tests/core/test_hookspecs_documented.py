"""Every hook in hookspecs.py is documented in docs/plugins/hooks.md, with its arguments and an
example, and every documented example is registered and called through the real plugin path."""

from __future__ import annotations

import inspect
import re
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import pytest

from kinject import hookspecs
from kinject.context import RunContext
from kinject.plugins import REGISTRY_HOOKS, Plugins

DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins" / "hooks.md"
SPECS: dict[str, Callable[..., Any]] = {
    name: fn for name, fn in vars(hookspecs).items() if callable(fn) and hasattr(fn, "kinject_spec")
}


def _sections() -> dict[str, str]:
    """``### name`` heading -> the text up to the next heading."""
    text = DOC.read_text(encoding="utf-8")
    parts = re.split(r"^###? (\S+)\s*$", text, flags=re.M)
    return {parts[i]: parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def _example(section: str) -> str:
    match = re.search(r"```python\n(.*?)```", section, flags=re.S)
    assert match, "no python example"
    return match.group(1)


def test_there_are_hooks() -> None:
    assert {"register_sources", "register_commands", "stage_finished"} <= set(SPECS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hook_is_documented_with_its_arguments(name: str) -> None:
    sections = _sections()
    assert name in sections, f"docs/plugins/hooks.md has no '### {name}' section"
    signature = re.search(rf"`{name}\((.*?)\)( -> [^`]+)?`", sections[name])
    assert signature, f"the {name} section does not show its signature"
    documented = re.findall(r"(\w+)\s*:", signature.group(1))
    assert documented == list(inspect.signature(SPECS[name]).parameters)


def _load_example(name: str, tmp_path: Path) -> types.ModuleType:
    module = types.ModuleType(f"hooks_doc_{name}")
    module.__dict__["__file__"] = str(tmp_path / f"{name}.py")
    exec(compile(_example(_sections()[name]), f"hooks.md#{name}", "exec"), module.__dict__)
    return module


def _call(name: str, plugins: Plugins, run_context: RunContext) -> None:
    """Call one hook the way the engine does."""
    if name in REGISTRY_HOOKS:
        assert len(plugins.registry(REGISTRY_HOOKS[name])) == 1
    elif name == "register_commands":
        group = click.Group("inject")
        plugins.pm.hook.register_commands(cli=group)
        assert group.commands
    elif name == "stage_started":
        plugins.pm.hook.stage_started(stage="train", context=run_context)
    elif name == "stage_finished":
        plugins.pm.hook.stage_finished(stage="train", context=run_context, stats={"seconds": 1.5})
        assert '"stage": "train"' in (run_context.run_dir / "stages.log").read_text()
    else:
        pytest.fail(f"no call for hook {name}: add one here and a test of it")


@pytest.mark.parametrize("name", sorted(SPECS))
def test_documented_example_is_called(
    name: str, isolated_plugins: Callable[..., Plugins], run_context: RunContext, tmp_path: Path
) -> None:
    module = _load_example(name, tmp_path)
    plugins = isolated_plugins(module)
    called: list[str] = []
    plugins.pm.add_hookcall_monitoring(
        lambda hook, impls, kwargs: called.append(hook), lambda *a: None
    )
    _call(name, plugins, run_context)
    if name not in REGISTRY_HOOKS:  # registries call implementations directly, not via pm.hook
        assert called == [name]


def test_every_registry_kind_has_a_hook() -> None:
    assert set(REGISTRY_HOOKS) <= set(SPECS)
