"""Finding what an earlier run left behind: its adapter and its training data.

Continual strategies start from a previous run (``init_adapter:``) and protect what it learned
(``reference:``). Both options accept the run directory itself, so a user can chain runs
without knowing the layout inside them.
"""

from __future__ import annotations

import json
from pathlib import Path

from kinject.components import MODEL_FOLDER, RESULT_FILE, TrainResult, has_result
from kinject.errors import ConfigError, InputError
from kinject.records import Record

ADAPTER_CONFIG = "adapter_config.json"


def resolve_adapter(path: Path, source: str) -> Path:
    """The adapter folder in ``path``: an adapter folder, a run's ``model/`` or the run itself."""
    path = Path(path).expanduser()
    if (path / ADAPTER_CONFIG).is_file():
        return path
    if has_result(path):
        return _adapter_of_result(path, source)
    for final in (path / "final", path / "model" / "final"):
        if (final / ADAPTER_CONFIG).is_file():
            return final
    if not path.exists():
        raise ConfigError(f"init_adapter {path} does not exist", source=source)
    raise ConfigError(
        f"init_adapter {path} holds no LoRA adapter (no {ADAPTER_CONFIG}, no "
        f"{MODEL_FOLDER}/{RESULT_FILE})",
        source=source,
    )


def _adapter_of_result(path: Path, source: str) -> Path:
    try:
        result = TrainResult.load(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ConfigError(
            f"{path} holds no readable training result ({exc})", source=source
        ) from exc
    if not result.adapter:
        raise ConfigError(
            f"the run in {path} saved a full model, not an adapter: "
            f"use its model directory {result.model_dir} as the base model instead",
            source=source,
        )
    return result.model_dir


def read_records_file(path: Path) -> list[Record]:
    """Records from a JSONL file of Records or of ``{"text": ...}`` rows (kind ``document``)."""
    records: list[Record] = []
    with path.open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
                records.append(Record.from_dict(data))
            except (ValueError, TypeError, KeyError) as exc:
                raise InputError(
                    "bad_reference", f"line {lineno}: not a record ({exc})", str(path)
                ) from exc
    return records


def reference_records(path: Path, source: str) -> list[Record]:
    """Reference data from a JSONL file, or the training data of a previous run directory."""
    path = Path(path).expanduser()
    if path.is_file():
        return read_records_file(path)
    # A run keeps its prepared data under data/; a strategy inside a comparison shares its parent's.
    for candidate in (path / "data" / "train.jsonl", path.parent / "data" / "train.jsonl"):
        if path.is_dir() and candidate.is_file():
            return read_records_file(candidate)
    raise ConfigError(
        f"reference {path} is neither a JSONL file nor a run directory with data/train.jsonl",
        source=source,
    )
