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
    """Appends bad inputs to ``quarantine.jsonl`` with the plugin and a reason code (and the data
    stage that found them)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        #: the data stage being computed; its entries carry its name
        self.stage = ""

    def restart(self, stage: str) -> None:
        """``stage`` is computed (again): drop the entries an earlier attempt of it wrote, so a
        stage re-run after a kill or a changed recipe is not quarantined twice."""
        with self._lock:
            self.stage = stage
            if not self.path.exists():
                return
            lines = self.path.read_text(encoding="utf-8").splitlines(keepends=True)
            kept = [line for line in lines if _stage_of(line) not in (stage, None)]
            if len(kept) != len(lines):
                tmp = self.path.with_name(self.path.name + ".partial")
                tmp.write_text("".join(kept), encoding="utf-8")
                tmp.replace(self.path)

    def add(
        self, plugin: str, reason: str, detail: str, uri: str = "", record: Record | None = None
    ) -> None:
        entry: dict[str, Any] = {"plugin": plugin, "reason": reason, "detail": detail, "uri": uri}
        if self.stage:
            entry["stage"] = self.stage
        if record is not None:
            entry["record"] = record.to_dict()
        entry = redact(entry)  # a corpus URI may carry a database password
        with self._lock:
            self.counts[reason] += 1
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(entry, ensure_ascii=False, default=str) + "\n")


def _stage_of(line: str) -> str | None:
    """The stage of one quarantine line ('' for none), None for a line cut short by a kill."""
    try:
        entry = json.loads(line)
    except json.JSONDecodeError:
        return None
    return str(entry.get("stage", "")) if isinstance(entry, dict) else None


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

    def progress(
        self, items: Iterable[T], description: str, total: int | None = None
    ) -> Iterator[T]:
        """Iterate with a rich progress bar (quiet when progress is off or not a terminal)."""
        from kinject.progress import track

        yield from track(items, description, total=total, enabled=self.show_progress)
