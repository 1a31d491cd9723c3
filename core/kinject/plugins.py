"""Building the plugin manager: builtins and entry-point plugins through the same path.

Environment variables:

- ``KINJECT_LOAD_PLUGINS``: comma-separated allowlist of entry-point plugins to load (``''``
  loads none: the way out of a broken plugin).
- ``KINJECT_DISABLE_PLUGINS``: comma-separated plugins (builtin module names or entry-point
  names) not to load.
- ``KINJECT_TRACE_PLUGINS``: when set, every hook call is traced to stderr.
"""

from __future__ import annotations

import importlib
import os
import sys
from dataclasses import dataclass, field
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from kinject import __version__, hookspecs
from kinject.domains import DomainPack
from kinject.errors import PluginError
from kinject.registry import Registry

DEFAULT_PLUGINS: tuple[str, ...] = (
    "kinject_plugins.sources",
    "kinject_plugins.cleaners",
    "kinject_plugins.augmenters",
    "kinject_plugins.trainers",
    "kinject_plugins.evaluators",
    "kinject_plugins.exporters",
    "kinject_plugins.observers",
    "kinject_plugins.scaffold",
)

#: hook name -> registry kind
REGISTRY_HOOKS: dict[str, str] = {
    "register_sources": "source",
    "register_cleaners": "cleaner",
    "register_augmenters": "augmenter",
    "register_trainers": "trainer",
    "register_evaluators": "evaluator",
    "register_exporters": "exporter",
    "register_domains": "domain",
}


@dataclass
class PluginInfo:
    """One loaded (or failed) plugin, as ``inject plugins`` shows it."""

    name: str
    distribution: str
    version: str
    builtin: bool
    error: str = ""


@dataclass
class Plugins:
    """The plugin manager plus the registries its hooks filled."""

    pm: pluggy.PluginManager
    info: dict[str, PluginInfo] = field(default_factory=dict)
    _registries: dict[str, Registry[Any]] = field(default_factory=dict)

    @property
    def failures(self) -> list[PluginInfo]:
        return [i for i in self.info.values() if i.error]

    def registry(self, kind: str) -> Registry[Any]:
        """The registry of one kind (``source``, ``cleaner``, ..., ``domain``), built on first
        use.
        """
        if kind not in self._registries:
            hook = next(h for h, k in REGISTRY_HOOKS.items() if k == kind)
            self._registries[kind] = self._collect(hook, kind)
        return self._registries[kind]

    def _collect(self, hook_name: str, kind: str) -> Registry[Any]:
        registry: Registry[Any] = Registry(kind)
        hook = getattr(self.pm.hook, hook_name)
        for impl in reversed(hook.get_hookimpls()):
            plugin_name = impl.plugin_name
            meta = self.info.get(plugin_name) or PluginInfo(plugin_name, "", "", False)

            def register(obj: Any, name: str | None = None, _p: PluginInfo = meta) -> None:
                registry.add(
                    obj, name or _registered_name(obj), _p.name, _p.distribution, _p.version
                )

            impl.function(register)
        return registry

    def domains(self) -> Registry[DomainPack]:
        return self.registry("domain")

    def create(self, kind: str, name: str, options: dict[str, Any] | None = None) -> Any:
        """Instantiate a registered component with options from the recipe."""
        factory = self.registry(kind).get(name).obj
        return factory(**(options or {}))


def _registered_name(obj: Any) -> str:
    return str(getattr(obj, "name", "") or "")


def _env_list(var: str) -> list[str] | None:
    raw = os.environ.get(var)
    if raw is None:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def build_plugins(load_entry_points: bool = True) -> Plugins:
    """A fresh plugin manager with builtins and (unless disabled) entry-point plugins."""
    pm = pluggy.PluginManager("kinject")
    pm.add_hookspecs(hookspecs)
    plugins = Plugins(pm=pm)
    disabled = set(_env_list("KINJECT_DISABLE_PLUGINS") or [])
    for module_name in DEFAULT_PLUGINS:
        if module_name in disabled:
            continue
        info = PluginInfo(module_name, "kinject", __version__, builtin=True)
        plugins.info[module_name] = info
        _register_module(
            plugins, module_name, info, lambda m=module_name: importlib.import_module(m)
        )
    if load_entry_points:
        _load_entry_points(plugins, disabled)
    pm.check_pending()
    if os.environ.get("KINJECT_TRACE_PLUGINS"):
        pm.trace.root.setwriter(lambda msg: sys.stderr.write(msg))
        pm.enable_tracing()
    return plugins


def _load_entry_points(plugins: Plugins, disabled: set[str]) -> None:
    allow = _env_list("KINJECT_LOAD_PLUGINS")
    for ep in metadata.entry_points(group="kinject"):
        dist = ep.dist.name if ep.dist else ""
        if ep.name in disabled or dist in disabled:
            continue
        if allow is not None and ep.name not in allow and dist not in allow:
            continue
        version = ep.dist.version if ep.dist else ""
        info = PluginInfo(ep.name, dist, version, builtin=False)
        plugins.info[ep.name] = info
        _register_module(plugins, ep.name, info, ep.load)


def _register_module(plugins: Plugins, name: str, info: PluginInfo, load: Any) -> None:
    """Import and register one plugin; an import error is recorded, never raised."""
    try:
        module: ModuleType = load()
        plugins.pm.register(module, name=name)
    except Exception as exc:  # a broken plugin must not break the CLI
        info.error = f"{type(exc).__name__}: {exc}"


_cached: Plugins | None = None


def get_plugins() -> Plugins:
    """The process-wide plugin set (built on first call, not at import)."""
    global _cached
    if _cached is None:
        _cached = build_plugins()
    return _cached


def reset_plugins(plugins: Plugins | None = None) -> None:
    """Drop (or replace) the process-wide plugin set; tests use this."""
    global _cached
    _cached = plugins


def require_domain(plugins: Plugins, name: str) -> DomainPack:
    """The named domain pack, or a PluginError that says how to install it."""
    domains = plugins.domains()
    if name in domains:
        pack: DomainPack = domains.get(name).obj
        return pack
    failed = plugins.info.get(name)
    if failed is not None and failed.error:
        raise PluginError(f"domain pack '{name}' failed to load: {failed.error}")
    installed = ", ".join(domains.names()) or "none"
    raise PluginError(
        f"unknown domain '{name}' (installed: {installed}); "
        f"install it with: pip install kinject-{name}"
    )
