"""The run context every plugin receives: where the run lives, its config, its domain."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from kinject.paths import kinject_home as kinject_home  # re-exported: plugins import it from here
from kinject.records import Record
from kinject.redact import redact

if TYPE_CHECKING:
    from kinject.config import RunConfig
    from kinject.domains import DomainPack
    from kinject.evaluation import EvalItem
    from kinject.plugins import Plugins

T = TypeVar("T")


class Quarantine:
    """Appends bad inputs to ``quarantine.jsonl`` with the plugin and a reason code."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, plugin: str, reason: str, detail: str, uri: str = "", record: Record | None = None) -> None:
        entry: dict[str, Any] = {"plugin": plugin, "reason": reason, "detail": detail, "uri": uri}
        if record is not None:
            entry["record"] = record.to_dict()
        entry = redact(entry)  # a corpus URI may carry a database password
        with self._lock:
            self.counts[reason] += 1
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")


@dataclass
class RunContext:
    """Shared by every stage of one run."""

    run_dir: Path
    config: RunConfig
    plugins: Plugins
    domain: DomainPack | None = None
    eval_items: list[EvalItem] = field(default_factory=list)
    #: where the eval items came from (``kinject.eval_set.EvalSetChoice.stats``)
    eval_origin: dict[str, Any] = field(default_factory=dict)
    show_progress: bool = True
    quarantine: Quarantine = field(init=False)

    def __post_init__(self) -> None:
        self.quarantine = Quarantine(self.run_dir / "quarantine.jsonl")

    @property
    def seed(self) -> int:
        return self.config.seed

    @property
    def data_dir(self) -> Path:
        return self.run_dir / "data"

    def artifact_dir(self, name: str) -> Path:
        path = self.run_dir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def progress(self, items: Iterable[T], description: str, total: int | None = None) -> Iterator[T]:
        """Iterate with a rich progress bar (quiet when progress is off or not a terminal)."""
        from kinject.progress import track

        yield from track(items, description, total=total, enabled=self.show_progress)
