"""The datasets path of tokenisation gives the trainer exactly what the list path gives."""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch

from kinject.components import TrainJob
from kinject.context import RunContext
from kinject.models import load_causal_lm
from kinject.records import Record
from kinject_plugins.trainers import arrow_rows
from kinject_plugins.trainers.arrow_rows import tokenized_dataset, use_arrow
from kinject_plugins.trainers.sft import SFTTrainer

MAX_LENGTH = 32


@pytest.fixture(autouse=True)
def environment_kept() -> Iterator[None]:
    """The environment as it was before the test's fixtures. datasets' ``map`` with
    ``num_proc`` > 1 replaces ``os.environ`` with a new mapping, so ``monkeypatch``'s undo works
    on the old one and would leave a fixture's variables (``KINJECT_LOAD_PLUGINS=""``) set for
    every later test."""
    saved = dict(os.environ)
    yield
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update(saved)


def mixed_records() -> list[Record]:
    """Documents and QA of many lengths, one row truncated, one dropped, two without a row."""
    records = []
    for i in range(40):
        text = f"Clause {i} of the lease binds the tenant. " + "The rent is due monthly. " * (i % 5)
        records.append(Record(text=text))
        question, answer = f"What does clause {i} bind?", f"the tenant, {i} times"
        meta = {"question": question, "answer": answer}
        records.append(Record(text=question, kind="qa", meta=meta))
    long_question = "Which of these clauses " + "really " * 40 + "applies?"
    meta = {"question": long_question, "answer": "none"}
    records.append(Record(text=long_question, kind="qa", meta=meta))
    records.append(Record(text="   "))
    records.append(Record(text="p", kind="preference", meta={"prompt": "a", "chosen": "b"}))
    return records


@pytest.fixture(scope="module")
def tokenizer(tiny_model: Path) -> Any:
    return load_causal_lm(tiny_model)[1]


def both_paths(tokenizer: Any, folder: Path, num_proc: int = 1) -> tuple[Any, ...]:
    lists_counts, arrow_counts = Counter[str](), Counter[str]()
    lists_skipped, arrow_skipped = Counter[str](), Counter[str]()
    records = mixed_records()
    lists = tokenized_dataset(records, tokenizer, MAX_LENGTH, None, 1, lists_counts, lists_skipped)
    arrow = tokenized_dataset(
        records, tokenizer, MAX_LENGTH, folder, num_proc, arrow_counts, arrow_skipped
    )
    assert (arrow_counts, arrow_skipped) == (lists_counts, lists_skipped)
    return lists, arrow, lists_counts, lists_skipped


@pytest.mark.parametrize("num_proc", [1, 2])
def test_the_arrow_rows_equal_the_list_rows(tokenizer: Any, tmp_path: Path, num_proc: int) -> None:
    lists, arrow, counts, skipped = both_paths(tokenizer, tmp_path / "tok", num_proc)
    assert arrow.cache_files, "the datasets path is memory-mapped from files"
    assert not lists.cache_files
    assert arrow.to_list() == lists.to_list()
    # the case list: one row cut by max_length, one cut to nothing trainable, two without a row
    assert len(lists) == 81 - 1
    assert counts["rows_truncated"] >= 2 and counts["tokens_truncated"] > 0
    assert skipped == Counter({"empty_text": 1, "kind_preference": 1})


def test_a_second_run_loads_the_folder(
    tokenizer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "tok"
    _, first, counts, _ = both_paths(tokenizer, folder)

    def no_rebuild(*args: Any) -> None:
        raise AssertionError("tokenized again")

    with monkeypatch.context() as patch:
        patch.setattr(arrow_rows, "_build", no_rebuild)
        again_counts = Counter[str]()
        again = tokenized_dataset(mixed_records(), tokenizer, MAX_LENGTH, folder, 1, again_counts)
    assert again.to_list() == first.to_list() and again_counts == counts
    changed = [*mixed_records(), Record(text="One more clause.")]
    rebuilt = tokenized_dataset(changed, tokenizer, MAX_LENGTH, folder, 1)
    assert len(rebuilt) == len(first) + 1
    assert json.loads((folder / "done.json").read_text())["counts"]["tokens"] > counts["tokens"]


def test_auto_picks_the_datasets_path_for_large_sets() -> None:
    assert not use_arrow("auto", arrow_rows.AUTO_MIN_RECORDS - 1)
    assert use_arrow("auto", arrow_rows.AUTO_MIN_RECORDS)
    assert use_arrow("datasets", 1) and not use_arrow("lists", 10**9)


@pytest.mark.parametrize("packing", [False, True])
def test_the_trainer_gets_the_same_batches(
    tiny_model: Path, run_context: RunContext, packing: bool
) -> None:
    """TRL's labels, truncation and packing, then the collator of the labelled loss head."""
    batches = {}
    # datasets-2: two processes tokenize, and run TRL's maps (its dataset_num_proc)
    for mode in ("lists", "datasets", "datasets-2"):
        trainer = SFTTrainer(
            tokenize=mode.split("-")[0],
            tokenize_num_proc=2 if mode == "datasets-2" else 1,
            packing=packing,
            max_length=MAX_LENGTH,
            loss_head="labelled",
            report_to=[],
        )
        model, tokenizer = load_causal_lm(tiny_model)
        out = run_context.run_dir / mode
        data = trainer.build_dataset(mixed_records(), tokenizer, "train", out / "tokenized")
        job = TrainJob(base_model=tiny_model, train=[], output_dir=out, context=run_context)
        trl = trainer.build_trainer(job, model, tokenizer, data, None)
        rows = trl.train_dataset.to_list()
        if mode != "lists":  # TRL's own maps (labels, packing) are written beside the tokens
            files = [Path(f["filename"]) for f in trl.train_dataset.cache_files]
            assert files and all(out / "tokenized" in f.parents for f in files)
        collated = [trl.data_collator(rows[i : i + 4]) for i in range(0, len(rows), 4)]
        batches[mode] = (rows, collated)
    assert (run_context.run_dir / "datasets" / "tokenized" / "train" / "done.json").is_file()
    assert not (run_context.run_dir / "lists" / "tokenized").exists()
    rows, collated = batches["lists"]
    for mode in ("datasets", "datasets-2"):
        arrow_rows_, arrow_collated = batches[mode]
        assert arrow_rows_ == rows, mode
        for expected, got in zip(collated, arrow_collated, strict=True):
            assert expected.keys() == got.keys()
            for key, value in expected.items():
                assert value.dtype == got[key].dtype and torch.equal(value, got[key]), key
    if packing:
        assert "position_ids" in collated[0] and "attention_mask" not in collated[0]


def test_training_on_either_path_gives_the_same_run(
    tiny_model: Path, run_context: RunContext
) -> None:
    metrics = {}
    for mode in ("lists", "datasets"):
        trainer = SFTTrainer(
            tokenize=mode, max_length=MAX_LENGTH, max_steps=2, batch_size=4, report_to=[]
        )
        out = run_context.run_dir / mode
        job = TrainJob(
            base_model=tiny_model, train=mixed_records(), output_dir=out, context=run_context
        )
        metrics[mode] = trainer.train(job).metrics
    same = ("tokens", "tokens_truncated", "rows_truncated", "train_tokens", "steps")
    assert {k: metrics["datasets"][k] for k in same} == {k: metrics["lists"][k] for k in same}
    assert metrics["datasets"]["final_train_loss"] == pytest.approx(
        metrics["lists"]["final_train_loss"], rel=1e-6
    )
