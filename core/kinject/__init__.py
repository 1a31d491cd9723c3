"""kinject: inject domain knowledge into language models.

Documents go in (PDF, scans, audio, databases, text); a model that knows the domain comes out,
with a measured report of what it learned and what it forgot.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Decorator for plugin hook implementations: ``@hookimpl def register_sources(register): ...``
hookimpl = pluggy.HookimplMarker("kinject")

__all__ = ["__version__", "hookimpl"]
