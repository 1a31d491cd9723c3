from collections.abc import Callable
from importlib import metadata
from typing import Any

import pytest

from kinject import hookimpl
from kinject.components import RecordCleaner
from kinject.errors import PluginError
from kinject.plugins import DEFAULT_PLUGINS, Plugins, build_plugins, require_domain
from kinject.records import Record


class Upper(RecordCleaner):
    name = "upper"

    def clean(self, record: Record) -> Record:
        return record.with_text(record.text.upper(), self.name)


class UpperPlugin:
    @hookimpl
    def register_cleaners(self, register: Callable[..., Any]) -> None:
        register(Upper)


def test_builtins_are_registered_like_plugins(kinject_plugins: Plugins) -> None:
    names = set(kinject_plugins.info)
    assert set(DEFAULT_PLUGINS) <= names
    assert all(kinject_plugins.info[n].distribution == "kinject" for n in DEFAULT_PLUGINS)


def test_registered_plugin_is_created_with_options(
    kinject_plugins: Plugins, register_plugin: Callable[..., Any]
) -> None:
    register_plugin(UpperPlugin(), name="upper-plugin")
    cleaner = kinject_plugins.create("cleaner", "upper")
    assert cleaner.clean(Record(text="abc")).text == "ABC"
    entry = kinject_plugins.registry("cleaner").get("upper")
    assert entry.plugin == "upper-plugin"


def test_duplicate_name_names_both_plugins(
    kinject_plugins: Plugins, register_plugin: Callable[..., Any]
) -> None:
    register_plugin(UpperPlugin(), name="first")
    register_plugin(UpperPlugin(), name="second")
    with pytest.raises(PluginError, match="first.*second|second.*first"):
        kinject_plugins.registry("cleaner")


def test_unknown_name_suggests_close_match(
    kinject_plugins: Plugins, register_plugin: Callable[..., Any]
) -> None:
    register_plugin(UpperPlugin(), name="upper-plugin")
    with pytest.raises(PluginError, match="did you mean 'upper'"):
        kinject_plugins.registry("cleaner").get("uper")


def test_unknown_domain_says_how_to_install(kinject_plugins: Plugins) -> None:
    with pytest.raises(PluginError, match="pip install kinject-astronomy"):
        require_domain(kinject_plugins, "astronomy")


class FakeDist:
    name = "kinject-broken"
    version = "9.9"


class FakeEntryPoint:
    def __init__(self, name: str, loader: Callable[[], Any]) -> None:
        self.name, self.dist, self._loader = name, FakeDist(), loader

    def load(self) -> Any:
        return self._loader()


def _fake_entry_points(monkeypatch: pytest.MonkeyPatch, eps: list[FakeEntryPoint]) -> None:
    monkeypatch.setattr(
        metadata, "entry_points", lambda group=None: eps if group == "kinject" else []
    )


def _broken() -> Any:
    raise ImportError("No module named 'kinject_broken_dep'")


def test_broken_entry_point_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINJECT_LOAD_PLUGINS", raising=False)
    _fake_entry_points(monkeypatch, [FakeEntryPoint("broken", _broken)])
    plugins = build_plugins()
    assert [f.name for f in plugins.failures] == ["broken"]
    assert "kinject_broken_dep" in plugins.failures[0].error


def test_load_plugins_empty_loads_no_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(monkeypatch, [FakeEntryPoint("broken", _broken)])
    monkeypatch.setenv("KINJECT_LOAD_PLUGINS", "")
    assert build_plugins().failures == []


def test_disable_plugins_skips_builtins_and_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_entry_points(monkeypatch, [FakeEntryPoint("broken", _broken)])
    monkeypatch.delenv("KINJECT_LOAD_PLUGINS", raising=False)
    monkeypatch.setenv("KINJECT_DISABLE_PLUGINS", "broken,kinject_plugins.cleaners")
    plugins = build_plugins()
    assert "broken" not in plugins.info
    assert "kinject_plugins.cleaners" not in plugins.info


def test_trace_plugins_writes_hook_calls(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("KINJECT_LOAD_PLUGINS", "")
    monkeypatch.setenv("KINJECT_TRACE_PLUGINS", "1")
    plugins = build_plugins()
    plugins.pm.hook.register_domains(register=lambda *a, **k: None)
    assert "register_domains" in capsys.readouterr().err
