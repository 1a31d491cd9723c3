"""Named registries filled by the ``register_*`` hooks; a duplicate name names both plugins."""

from __future__ import annotations

from dataclasses import dataclass
from difflib import get_close_matches
from typing import Any, Generic, TypeVar

from kinject.errors import PluginError

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """One registered thing and the plugin (and distribution) that registered it."""

    name: str
    obj: T
    plugin: str
    distribution: str
    version: str


class Registry(Generic[T]):
    """Maps names to registered factories (or domain packs) of one kind."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def add(self, obj: T, name: str, plugin: str, distribution: str, version: str) -> None:
        if not name:
            raise PluginError(f"plugin {plugin} registered a {self.kind} without a name")
        if name in self._entries:
            first = self._entries[name].plugin
            raise PluginError(
                f"{self.kind} '{name}' is registered twice: by plugin {first} and by plugin "
                f"{plugin}"
            )
        self._entries[name] = Entry(name, obj, plugin, distribution, version)

    def get(self, name: str) -> Entry[T]:
        try:
            return self._entries[name]
        except KeyError:
            raise PluginError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        known = sorted(self._entries)
        close = get_close_matches(name, known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        listing = ", ".join(known) or "none installed"
        return f"unknown {self.kind} '{name}'{hint}; available: {listing}"

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Any:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> list[str]:
        return sorted(self._entries)
