"""Records -> prompt/completion rows -> token ids with a completion mask."""

from __future__ import annotations

from pathlib import Path

from kinject.evaluation import format_prompt
from kinject.models import load_causal_lm
from kinject.records import Record
from kinject_plugins.trainers.training_rows import records_to_rows, tokenize_row, tokenize_rows


def qa(question: str, answer: str) -> Record:
    return Record(
        text=f"{question} {answer}", kind="qa", meta={"question": question, "answer": answer}
    )


def test_documents_and_qa_share_one_row_shape() -> None:
    records = [
        Record(text="  The Harbor Court sits in Veloria.  "),
        qa("Where does the Harbor Court sit?", "Veloria"),
        Record(text="p", kind="preference", meta={"prompt": "a", "chosen": "b", "rejected": "c"}),
        Record(text="   "),
        Record(text="x", kind="qa", meta={"question": "no answer"}),
    ]
    converted = records_to_rows(records)
    assert converted.rows == [
        {"prompt": "", "completion": "The Harbor Court sits in Veloria."},
        {"prompt": format_prompt("Where does the Harbor Court sit?"), "completion": " Veloria"},
    ]
    assert converted.skipped == {"kind_preference": 1, "empty_text": 1, "incomplete_qa": 1}


def test_qa_mask_covers_answer_and_eos_only(tiny_model: Path) -> None:
    _, tokenizer = load_causal_lm(tiny_model)
    row = records_to_rows([qa("What is the capital of France?", "Paris")]).rows[0]
    tokens = tokenize_row(row, tokenizer, max_length=None)
    ids, mask = tokens["input_ids"], tokens["completion_mask"]
    prompt_len = len(tokenizer(row["prompt"])["input_ids"])
    assert mask[:prompt_len] == [0] * prompt_len
    assert all(mask[prompt_len:])
    assert ids[-1] == tokenizer.eos_token_id
    assert tokenizer.decode(ids[prompt_len:-1]) == " Paris"
    assert tokenizer.decode(ids) == row["prompt"] + " Paris" + tokenizer.eos_token


def test_document_is_trained_on_every_token(tiny_model: Path) -> None:
    _, tokenizer = load_causal_lm(tiny_model)
    tokens = tokenize_row({"prompt": "", "completion": "The contract is void."}, tokenizer, None)
    assert all(tokens["completion_mask"])


def test_truncation_keeps_start_and_drops_rows_left_without_answer(tiny_model: Path) -> None:
    _, tokenizer = load_causal_lm(tiny_model)
    long_question = qa("What " * 40 + "is it?", "blue")
    rows = records_to_rows([long_question, Record(text="short text")]).rows
    columns = tokenize_rows(rows, tokenizer, max_length=8)
    assert len(columns["input_ids"]) == 1  # the QA row was cut inside its prompt
    assert len(columns["input_ids"][0]) <= 8


def test_truncation_is_counted(tiny_model: Path) -> None:
    from collections import Counter

    _, tokenizer = load_causal_lm(tiny_model)
    rows = records_to_rows([Record(text="word " * 30), Record(text="short text")]).rows
    full = [len(tokenize_row(r, tokenizer, None)["input_ids"]) for r in rows]
    counts: Counter[str] = Counter()
    tokenize_rows(rows, tokenizer, max_length=12, counts=counts)
    assert counts["tokens"] == sum(full)
    assert counts["tokens_truncated"] == sum(max(0, n - 12) for n in full) > 0
    assert counts["rows_truncated"] == sum(n > 12 for n in full) == 1


def test_a_passage_trains_with_its_title_line() -> None:
    record = Record(text="Revenue rose.", meta={"title": "Annual review", "section": "Results"})
    assert records_to_rows([record]).rows == [
        {"prompt": "", "completion": "Annual review — Results\nRevenue rose."}
    ]
