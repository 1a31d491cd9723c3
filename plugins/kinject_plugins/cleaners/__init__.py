"""Builtin cleaners: each module holds one component; this hook registers them all."""

from __future__ import annotations

from kinject import hookimpl
from kinject.hookspecs import Register


@hookimpl
def register_cleaners(register: Register) -> None:
    # Imports stay inside the hook so loading the plugin is cheap.
    pass
