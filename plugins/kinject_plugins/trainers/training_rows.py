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
from collections.abc import Iterable
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
            out.skipped[_skip_reason(record)] += 1
        else:
            out.rows.append(row)
    return out


def _skip_reason(record: Record) -> str:
    if record.kind in LM_KINDS:
        return "empty_text"
    if record.kind == "qa":
        return "incomplete_qa"
    return f"kind_{record.kind}"


def tokenize_row(
    row: dict[str, str], tokenizer: Any, max_length: int | None
) -> dict[str, list[int]]:
    """Token ids and a completion mask (1 = trained on) for one row.

    Prompt and completion are tokenized apart and joined, so the boundary is exact: the prompt
    keeps the tokenizer's special prefix (a BOS where it has one); the completion ends in eos.
    Truncation keeps the start.
    """
    prompt_ids = list(tokenizer(row["prompt"], add_special_tokens=True)["input_ids"])
    completion_ids = list(tokenizer(row["completion"], add_special_tokens=False)["input_ids"])
    completion_ids.append(tokenizer.eos_token_id)
    input_ids = prompt_ids + completion_ids
    mask = [0] * len(prompt_ids) + [1] * len(completion_ids)
    if max_length is not None:
        input_ids, mask = input_ids[:max_length], mask[:max_length]
    return {"input_ids": input_ids, "completion_mask": mask}


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
    for row in rows:
        tokens = tokenize_row(row, tokenizer, None)
        if counts is not None:
            _count(tokens, max_length, counts)
        if max_length is not None:
            tokens = {k: v[:max_length] for k, v in tokens.items()}
        if any(tokens["completion_mask"]):
            columns["input_ids"].append(tokens["input_ids"])
            columns["completion_mask"].append(tokens["completion_mask"])
    return columns


def _count(tokens: dict[str, list[int]], max_length: int | None, counts: Counter[str]) -> None:
    total = len(tokens["input_ids"])
    cut = max(0, total - max_length) if max_length is not None else 0
    counts["tokens"] += total
    counts["tokens_truncated"] += cut
    counts["rows_truncated"] += bool(cut)
