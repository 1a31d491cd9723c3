"""Where kinject keeps files: ``$KINJECT_HOME``, and paths stored relative to a run directory.

Imports nothing of kinject, so any module can use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def kinject_home() -> Path:
    """``$KINJECT_HOME`` (default ``~/.cache/kinject``): model conversions and caches."""
    return Path(os.environ.get("KINJECT_HOME", Path.home() / ".cache" / "kinject"))


def run_relative(path: Path, root: Path) -> str:
    """``path`` as written into a run's files: relative to ``root`` when inside it, else absolute.

    A run directory that is moved or copied elsewhere then still points at its own files.
    """
    full, root = Path(path).resolve(), Path(root).resolve()
    return full.relative_to(root).as_posix() if full.is_relative_to(root) else str(full)


def resolve_saved(saved: str, root: Path) -> Path:
    """A path written by :func:`run_relative`, back to a path under ``root`` (absolute stays)."""
    inside = root / saved
    # files written before paths were relative to the run held the shell's working directory
    return Path(saved) if not inside.exists() and Path(saved).exists() else inside
