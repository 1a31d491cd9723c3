"""pytest fixtures for kinject and for plugin authors (registered as the ``kinject`` pytest plugin).

- ``kinject_plugins``: a fresh plugin set with the builtins (entry-point plugins not loaded).
- ``register_plugin``: ``register_plugin(module_or_object)`` adds a plugin for one test.
- ``run_context``: a :class:`kinject.context.RunContext` on a temporary run directory.
- ``tiny_model``: a directory holding a tiny random causal LM and its tokenizer (fast, offline).
- ``isolated_plugins``: ``isolated_plugins(my_plugin)`` is a plugin set with only your plugin in it
  (no builtins, no entry points): registry clashes and hook calls are yours alone.

For domain-pack authors, :func:`check_recipe_strategies` resolves a pack's recipe with each
strategy it budgets (the recipe's own and every ``strategy_options`` key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.plugins import Plugins, build_plugins, reset_plugins


@pytest.fixture
def kinject_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[Plugins]:
    """Builtins only, installed as the process-wide plugin set for the test."""
    monkeypatch.setenv("KINJECT_LOAD_PLUGINS", "")
    plugins = build_plugins(load_entry_points=False)
    reset_plugins(plugins)
    yield plugins
    reset_plugins(None)


@pytest.fixture
def register_plugin(kinject_plugins: Plugins) -> Iterator[Callable[..., Any]]:
    """Register a plugin (module or object with hookimpls) for this test only."""
    added: list[Any] = []

    def register(plugin: Any, name: str | None = None) -> Any:
        kinject_plugins.pm.register(plugin, name=name)
        kinject_plugins._registries.clear()
        added.append(plugin)
        return plugin

    yield register
    for plugin in added:
        kinject_plugins.pm.unregister(plugin)
    kinject_plugins._registries.clear()


@pytest.fixture
def run_context(tmp_path: Path, kinject_plugins: Plugins) -> RunContext:
    """A RunContext on an empty temporary run directory, progress bars off."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    return RunContext(
        run_dir=run_dir, config=RunConfig(), plugins=kinject_plugins, show_progress=False
    )


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama-style causal LM with a small trained BPE tokenizer, saved to disk."""
    from kinject.models import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def isolated_plugins() -> Callable[..., Plugins]:
    """Factory: a plugin set holding only the given plugin modules or objects.

    ``plugins = isolated_plugins(my_plugin)``; ``plugins.registry("source").names()`` then lists
    only what ``my_plugin`` registers, and ``plugins.pm.hook.<name>(...)`` calls only its hooks.
    """
    import pluggy

    from kinject import hookspecs
    from kinject.plugins import PluginInfo

    def build(*plugins: Any) -> Plugins:
        pm = pluggy.PluginManager("kinject")
        pm.add_hookspecs(hookspecs)
        built = Plugins(pm=pm)
        for plugin in plugins:
            name = getattr(plugin, "__name__", None) or type(plugin).__name__
            pm.register(plugin, name=name)
            built.info[name] = PluginInfo(name, "", "", builtin=False)
        pm.check_pending()
        return built

    return build


def check_recipe_strategies(domain: str) -> dict[str, dict[str, Any]]:
    """Resolve ``domain``'s recipe once per strategy it budgets; returns each one's trainer options.

    Raises :class:`kinject.errors.ConfigError` (every problem listed) when a budget names an
    option its trainer does not have, or when the recipe's ``trainer:`` block leaks into another
    strategy.
    """
    from kinject.pipeline import resolve_config
    from kinject.plugins import require_domain

    plugins = build_plugins()
    recipe = require_domain(plugins, domain).load_recipe()
    strategies = [recipe.get("strategy", "sft"), *recipe.get("strategy_options", {})]
    resolved: dict[str, dict[str, Any]] = {}
    for strategy in dict.fromkeys(strategies):
        config, _ = resolve_config(plugins, domain, overrides={"strategy": strategy})
        resolved[strategy] = config.trainer
    return resolved
