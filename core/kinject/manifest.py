"""``manifest.json``: resolved config, input hashes, seeds, versions, per-stage stats and
timings.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from kinject.redact import redact

TRACKED_LIBRARIES = (
    "kinject", "torch", "transformers", "peft", "trl", "accelerate", "datasets",
    "sentence-transformers", "faiss-cpu", "pdfplumber", "SQLAlchemy",
)  # fmt: skip


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


class Manifest:
    """Accumulates what a run did and rewrites ``manifest.json`` after every stage."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.data: dict[str, Any] = {}
        if path.exists():
            self.data = json.loads(path.read_text(encoding="utf-8"))

    def start(self, run_id: str, config: dict[str, Any], plugins: dict[str, Any]) -> None:
        self.data.update(
            run_id=run_id,
            config=config,
            seed=config.get("seed"),
            versions=library_versions(),
            plugins=plugins,
            command=sys.argv,
            status="running",
        )
        self.data.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self.data.setdefault("stages", {})
        self.save()

    def stage(self, name: str, stats: dict[str, Any]) -> None:
        self.data.setdefault("stages", {})[name] = stats
        self.save()

    def timing(self, name: str, seconds: float) -> None:
        """The seconds stage ``name`` took in this run (loading a cached result included)."""
        self.data.setdefault("timings", {})[name] = seconds
        self.save()

    def set(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.save()

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".partial")
        # passwords in URLs and secret-named options never reach the file
        tmp.write_text(
            json.dumps(redact(self.data), indent=2, ensure_ascii=False, default=str),
            encoding="utf-8",
        )
        tmp.replace(self.path)
