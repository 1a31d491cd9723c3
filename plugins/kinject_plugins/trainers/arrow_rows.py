"""Training rows as a memory-mapped Arrow dataset: tokenisation for large train sets.

The list path (``training_rows.tokenize_rows``) holds every token id as a Python int before
``Dataset.from_dict`` copies them into Arrow. This path never does: the rows are written to an
Arrow file in batches, tokenized by ``Dataset.map`` (``num_proc`` processes) into another, and
the result is saved under ``<folder>/<split>/`` and memory-mapped back. TRL's own preparation
(labels, packing) then writes its cache files next to it. A ``done.json`` holding the
fingerprint of the rows, the tokenizer and ``max_length`` (and the token counts) lets a resumed
run load the folder instead of tokenizing again.

The token ids, masks and order are those of the list path (both call
``training_rows.tokenize_batch``); only where they are stored differs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kinject.records import Record
from kinject_plugins.trainers.training_rows import (
    BATCH_ROWS,
    batched,
    record_to_row,
    records_to_rows,
    skip_reason,
    tokenize_batch,
    tokenize_rows,
)

#: ``tokenize: auto`` uses this path from this many records (see docs/scale.md for the figures)
AUTO_MIN_RECORDS = 10_000

#: bump when what is stored changes, so old folders are not reused
FORMAT = 1


def use_arrow(mode: str, records: int) -> bool:
    """Whether ``tokenize: <mode>`` tokenizes ``records`` records through this path."""
    if mode == "auto":
        return records >= AUTO_MIN_RECORDS
    return mode == "datasets"


def tokenized_dataset(
    records: list[Record],
    tokenizer: Any,
    max_length: int | None,
    folder: Path | None,
    num_proc: int = 1,
    counts: Counter[str] | None = None,
    skipped: Counter[str] | None = None,
) -> Any:
    """The tokenized ``datasets.Dataset`` of ``records``: built from Python lists in memory when
    ``folder`` is None, else memory-mapped from ``folder`` (:func:`arrow_dataset`).
    """
    if folder is not None:
        return arrow_dataset(records, tokenizer, max_length, folder, num_proc, counts, skipped)
    from datasets import Dataset

    converted = records_to_rows(records)
    if skipped is not None:
        skipped.update(converted.skipped)
    return Dataset.from_dict(tokenize_rows(converted.rows, tokenizer, max_length, counts))


def arrow_dataset(
    records: list[Record],
    tokenizer: Any,
    max_length: int | None,
    folder: Path,
    num_proc: int = 1,
    counts: Counter[str] | None = None,
    skipped: Counter[str] | None = None,
) -> Any:
    """The tokenized ``datasets.Dataset`` of ``records``, memory-mapped from ``folder``.

    ``counts`` receives ``tokens``, ``tokens_truncated`` and ``rows_truncated`` as
    ``tokenize_rows`` counts them; ``skipped`` the records without a row, by reason.
    """
    from datasets import load_from_disk

    skipped = Counter() if skipped is None else skipped
    fingerprint = rows_fingerprint(records, tokenizer, max_length, skipped)
    with _main_process_first():
        if not _reusable(folder, fingerprint):
            _build(records, tokenizer, max_length, folder, num_proc, fingerprint)
    if counts is not None:
        counts.update(json.loads((folder / "done.json").read_text(encoding="utf-8"))["counts"])
    return load_from_disk(str(folder / "dataset"))


def _build(
    records: list[Record],
    tokenizer: Any,
    max_length: int | None,
    folder: Path,
    num_proc: int,
    fingerprint: str,
) -> None:
    """Tokenize into ``folder/dataset``; ``done.json`` comes last, so a killed run redoes it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    stored = _tokenize(records, tokenizer, max_length, folder / "work", num_proc, fingerprint)
    stored["dataset"].save_to_disk(str(folder / "dataset"))
    shutil.rmtree(folder / "work")
    body = {"fingerprint": fingerprint, "counts": stored["counts"]}
    partial = folder / "done.partial"
    partial.write_text(json.dumps(body), encoding="utf-8")
    partial.replace(folder / "done.json")


def _main_process_first() -> contextlib.AbstractContextManager[Any]:
    """Under a distributed launch the main process tokenizes while the others wait, then load."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return contextlib.nullcontext()
    from accelerate import PartialState

    return PartialState().main_process_first()


def rows_fingerprint(
    records: list[Record], tokenizer: Any, max_length: int | None, skipped: Counter[str]
) -> str:
    """A hash of every row's text in order, the tokenizer and ``max_length``."""
    digest = hashlib.sha256(f"{FORMAT}\0{max_length}\0".encode())
    digest.update(tokenizer_fingerprint(tokenizer).encode())
    for record in records:
        row = record_to_row(record)
        if row is None:
            skipped[skip_reason(record)] += 1
            continue
        digest.update(f"{len(row['prompt'])}\0{row['prompt']}\0{row['completion']}\0".encode())
    return digest.hexdigest()


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A hash of what decides the token ids: the vocabulary and rules, eos."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    spec = backend.to_str() if backend is not None else repr(tokenizer.get_vocab())
    text = f"{spec}\0{tokenizer.eos_token_id}\0{type(tokenizer).__name__}"
    return hashlib.sha256(text.encode()).hexdigest()


def _reusable(folder: Path, fingerprint: str) -> bool:
    done = folder / "done.json"
    if not done.is_file() or not (folder / "dataset").is_dir():
        return False
    try:
        return bool(json.loads(done.read_text(encoding="utf-8"))["fingerprint"] == fingerprint)
    except (ValueError, KeyError):
        return False


def _tokenize(
    records: list[Record],
    tokenizer: Any,
    max_length: int | None,
    work: Path,
    num_proc: int,
    fingerprint: str,
) -> dict[str, Any]:
    """Rows -> an Arrow file -> token columns; the kept rows and the counts."""
    import numpy as np
    from datasets import Dataset, Features, Sequence, Value

    work.mkdir(parents=True)
    rows = _write_rows(records, work / "rows.arrow")
    features = Features(
        {
            "input_ids": Sequence(Value("int32")),
            "completion_mask": Sequence(Value("int8")),
            "tokens": Value("int64"),
            "trainable": Value("int32"),
        }
    )
    tokens = rows.map(
        _tokenize_columns,
        batched=True,
        batch_size=BATCH_ROWS,
        num_proc=num_proc if num_proc > 1 else None,
        fn_kwargs={"tokenizer": tokenizer, "max_length": max_length},
        remove_columns=["prompt", "completion"],
        features=features,
        cache_file_name=str(work / "tokens.arrow"),
        new_fingerprint=fingerprint[:32],
    )
    total = tokens.data.column("tokens").to_numpy()
    cut = np.maximum(0, total - max_length) if max_length is not None else np.zeros_like(total)
    counts = {
        "tokens": int(total.sum()),
        "tokens_truncated": int(cut.sum()),
        "rows_truncated": int((cut > 0).sum()),
    }
    trainable = tokens.data.column("trainable").to_numpy()
    if not trainable.all():
        tokens = tokens.select(np.flatnonzero(trainable))
    kept = tokens.remove_columns(["tokens", "trainable"])
    assert isinstance(kept, Dataset)
    return {"dataset": kept, "counts": counts}


def _write_rows(records: list[Record], path: Path) -> Any:
    """The prompt/completion rows written to ``path`` in batches, memory-mapped back."""
    from datasets import Dataset, Features, Value
    from datasets.arrow_writer import ArrowWriter

    features = Features({"prompt": Value("string"), "completion": Value("string")})
    with ArrowWriter(features=features, path=str(path)) as writer:
        for batch in batched(_rows(records), BATCH_ROWS):
            writer.write_batch(
                {
                    "prompt": [r["prompt"] for r in batch],
                    "completion": [r["completion"] for r in batch],
                }
            )
        writer.finalize()
    return Dataset.from_file(str(path))


def _rows(records: list[Record]) -> Iterator[dict[str, str]]:
    for record in records:
        row = record_to_row(record)
        if row is not None:
            yield row


def _tokenize_columns(
    batch: dict[str, list[str]], tokenizer: Any, max_length: int | None
) -> dict[str, list[Any]]:
    """One ``map`` batch: truncated ids and masks, each row's full length and trainable tokens."""
    ids, masks = tokenize_batch(batch["prompt"], batch["completion"], tokenizer)
    masks = [m[:max_length] for m in masks]
    return {
        "input_ids": [i[:max_length] for i in ids],
        "completion_mask": masks,
        "tokens": [len(i) for i in ids],
        "trainable": [sum(m) for m in masks],
    }
