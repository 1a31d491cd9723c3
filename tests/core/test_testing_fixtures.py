"""The pytest fixtures kinject ships for plugin authors (``kinject.testing``)."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from kinject import hookimpl
from kinject.components import Source
from kinject.context import RunContext
from kinject.plugins import Plugins
from kinject.records import Record


class EchoSource(Source):
    name = "echo"
    schemes = ("echo",)

    def read(self, uri: str) -> Iterator[Record]:
        yield Record(text=uri.split("://", 1)[1], source={"uri": uri})


def _plugin() -> types.SimpleNamespace:
    @hookimpl
    def register_sources(register: Callable[..., None]) -> None:
        register(EchoSource)

    return types.SimpleNamespace(__name__="echo_plugin", register_sources=register_sources)


def test_isolated_plugins_hold_only_the_given_plugin(
    isolated_plugins: Callable[..., Plugins],
) -> None:
    plugins = isolated_plugins(_plugin())
    assert plugins.registry("source").names() == ["echo"]
    assert plugins.registry("exporter").names() == []
    assert plugins.registry("source").get("echo").plugin == "echo_plugin"
    (record,) = plugins.create("source", "echo").read("echo://hello")
    assert record.text == "hello"


def test_isolated_plugins_reject_unknown_hooks(isolated_plugins: Callable[..., Plugins]) -> None:
    @hookimpl
    def register_widgets(register: Any) -> None: ...

    with pytest.raises(pluggy.PluginValidationError):
        isolated_plugins(types.SimpleNamespace(__name__="bad", register_widgets=register_widgets))


def test_register_plugin_adds_to_the_builtins_for_one_test(
    register_plugin: Callable[..., Any], kinject_plugins: Plugins
) -> None:
    assert "echo" not in kinject_plugins.registry("source")
    register_plugin(_plugin(), name="echo_plugin")
    assert "echo" in kinject_plugins.registry("source")
    assert len(kinject_plugins.registry("exporter")) > 0  # builtins are still there


def test_builtins_are_back_after_the_test(kinject_plugins: Plugins) -> None:
    assert "echo" not in kinject_plugins.registry("source")


def test_run_context_is_a_fresh_run_dir(run_context: RunContext) -> None:
    assert run_context.run_dir.is_dir() and not any(run_context.run_dir.iterdir())
    run_context.quarantine.add("echo", "bad_input", "detail", uri="echo://x")
    assert run_context.quarantine.counts["bad_input"] == 1


def test_tiny_model_loads(tiny_model: Path) -> None:
    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(tiny_model)
    assert model.config.model_type == "llama" and tokenizer("hello")["input_ids"]
