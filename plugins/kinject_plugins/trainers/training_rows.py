"""Records -> training rows -> token ids, shared by the trainers.

Every row is a ``prompt``/``completion`` pair so one dataset holds both kinds of data:

- ``document`` (and ``passage``) records: empty prompt, the text as completion: plain LM loss.
  A passage's title line (``kinject.chunking.passage_text``) comes first.
- ``qa`` records: prompt ``format_prompt(question)``, completion ``" " + answer``: loss on the
  answer only, with the eos token so the model learns to stop.

Other kinds (``preference``) are for other strategies and are counted as skipped.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kinject.chunking import passage_text
from kinject.evaluation import format_prompt
from kinject.records import Record

LM_KINDS = ("document", "passage")


@dataclass
class TrainRows:
    """Prompt/completion rows plus a count of the records that were left out, by reason."""

    rows: list[dict[str, str]] = field(default_factory=list)
    skipped: Counter[str] = field(default_factory=Counter)


def record_to_row(record: Record) -> dict[str, str] | None:
    """The prompt/completion row for one record, or None when it carries nothing to learn."""
    if record.kind in LM_KINDS:
        text = passage_text(record).strip() if record.text.strip() else ""
        return {"prompt": "", "completion": text} if text else None
    if record.kind == "qa":
        question = str(record.meta.get("question", "")).strip()
        answer = str(record.meta.get("answer", "")).strip()
        if not question or not answer:
            return None
        return {"prompt": format_prompt(question), "completion": " " + answer}
    return None


def records_to_rows(records: Iterable[Record]) -> TrainRows:
    """Turn records into rows; records without a row are counted under ``skipped``."""
    out = TrainRows()
    for record in records:
        row = record_to_row(record)
        if row is None:
            out.skipped[skip_reason(record)] += 1
        else:
            out.rows.append(row)
    return out


def skip_reason(record: Record) -> str:
    """Why a record has no row."""
    if record.kind in LM_KINDS:
        return "empty_text"
    if record.kind == "qa":
        return "incomplete_qa"
    return f"kind_{record.kind}"


def tokenize_batch(
    prompts: list[str], completions: list[str], tokenizer: Any
) -> tuple[list[list[int]], list[list[int]]]:
    """Token ids and completion masks (1 = trained on) of rows given as two columns, untruncated.

    Prompt and completion are tokenized apart and joined, so the boundary is exact: the prompt
    keeps the tokenizer's special prefix (a BOS where it has one); the completion ends in eos.
    One call of the tokenizer per column: a fast tokenizer encodes the batch in Rust.
    """
    prompt_ids = tokenizer(prompts, add_special_tokens=True)["input_ids"]
    completion_ids = tokenizer(completions, add_special_tokens=False)["input_ids"]
    ids, masks = [], []
    for prompt, completion in zip(prompt_ids, completion_ids, strict=True):
        ids.append([*prompt, *completion, tokenizer.eos_token_id])
        masks.append([0] * len(prompt) + [1] * (len(completion) + 1))
    return ids, masks


def tokenize_row(
    row: dict[str, str], tokenizer: Any, max_length: int | None
) -> dict[str, list[int]]:
    """Token ids and a completion mask for one row (see :func:`tokenize_batch`).

    Truncation keeps the start.
    """
    ids, masks = tokenize_batch([row["prompt"]], [row["completion"]], tokenizer)
    return {"input_ids": ids[0][:max_length], "completion_mask": masks[0][:max_length]}


#: rows per tokenizer call
BATCH_ROWS = 1000


def tokenize_rows(
    rows: Iterable[dict[str, str]],
    tokenizer: Any,
    max_length: int | None,
    counts: Counter[str] | None = None,
) -> dict[str, list[list[int]]]:
    """Columns ``input_ids`` and ``completion_mask``; rows truncated to nothing trainable are
    dropped.

    ``counts`` (when given) receives ``tokens`` (before truncation), ``tokens_truncated`` (cut by
    ``max_length``, never trained on) and ``rows_truncated``.
    """
    columns: dict[str, list[list[int]]] = {"input_ids": [], "completion_mask": []}
    for batch in batched(rows, BATCH_ROWS):
        ids, masks = tokenize_batch(
            [r["prompt"] for r in batch], [r["completion"] for r in batch], tokenizer
        )
        for row_ids, mask in zip(ids, masks, strict=True):
            if counts is not None:
                count_tokens(len(row_ids), max_length, counts)
            if any(mask[:max_length]):
                columns["input_ids"].append(row_ids[:max_length])
                columns["completion_mask"].append(mask[:max_length])
    return columns


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    """Lists of ``size`` items (the last one shorter)."""
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def count_tokens(total: int, max_length: int | None, counts: Counter[str]) -> None:
    """Add one row of ``total`` tokens to ``counts`` (see :func:`tokenize_rows`)."""
    cut = max(0, total - max_length) if max_length is not None else 0
    counts["tokens"] += total
    counts["tokens_truncated"] += cut
    counts["rows_truncated"] += bool(cut)
