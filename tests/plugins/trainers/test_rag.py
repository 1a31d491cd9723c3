"""The ``rag`` strategy: chunking, the saved index, retrieval into the evaluation prompt."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kinject.cli.run_cmd import stage_line
from kinject.components import TrainJob
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.records import Record
from kinject_plugins.trainers.rag import RagIndex, RAGTrainer, passages_of

DOCS = [
    "The Harbor Court of Veloria hears appeals within 21 days of judgment.",
    "Tenants in Veloria must give 45 days notice before leaving a flat.",
    "A patient with a fever of 39 degrees should drink water and rest.",
    "The central bank raised the interest rate by a quarter point in March.",
]


def job(tiny_model: Path, ctx: RunContext, out: Path, records: list[Record]) -> TrainJob:
    return TrainJob(base_model=tiny_model, train=records, output_dir=out, context=ctx)


def test_indexes_the_chunk_stage_passages_with_their_title_line() -> None:
    records = [
        Record(text="The rate rose in March.", meta={"title": "Bank notes", "section": "Rates"}),
        Record(text="q", kind="qa", meta={"question": "x?", "answer": "y"}),
    ]
    passages = passages_of(records, ["document"])
    assert [p["text"] for p in passages] == ["Bank notes — Rates\nThe rate rose in March."]
    assert passages[0]["record_id"] == records[0].id


def test_index_is_saved_and_retrieval_reaches_the_prompt(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    qa = Record(text="q", kind="qa", meta={"question": "x?", "answer": "y"})
    trainer = RAGTrainer(k=2)
    result = trainer.train(
        job(tiny_model, run_context, tmp_path / "out", [Record(text=t) for t in DOCS] + [qa])
    )
    assert not result.adapter and result.extra == {"kind": "rag"}
    folder = result.model_dir
    config = json.loads((folder / "rag.json").read_text())
    assert config["k"] == 2 and config["base_model"] == str(tiny_model) and config["embedder"]
    assert (folder / "index.faiss").is_file()
    assert result.metrics["passages"] == len(DOCS) and result.metrics["trainable_params"] == 0
    assert result.metrics["passages_per_s"] > 0 and result.metrics["embed_batch_size"] == 64
    assert result.metrics["embed_precision"] in ("fp32", "bf16")
    assert f"{len(DOCS)} passages indexed, " in stage_line("train", result.metrics)

    handle = trainer.load_for_eval(result, run_context)
    prompt = handle.prompt("How many days notice must a tenant give?")
    assert prompt.startswith("Context:\n- ") and prompt.endswith(
        "Question: How many days notice must a tenant give?\nAnswer:"
    )
    assert "45 days notice" in prompt
    assert prompt.count("\n- ") == 2  # k passages
    assert handle.info["kind"] == "rag"

    served = RagIndex.load(folder)
    assert served.retrieve("fever of a patient", k=1) == [DOCS[2]]
    assert served.prompt("When does the Harbor Court hear appeals?").count("\n- ") == 2


def test_no_documents_is_a_config_error(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    qa = Record(text="q", kind="qa", meta={"question": "x?", "answer": "y"})
    with pytest.raises(ConfigError, match="no records of kind document"):
        RAGTrainer().train(job(tiny_model, run_context, tmp_path / "out", [qa]))


def test_loading_something_that_is_not_an_index_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="rag.json is missing"):
        RagIndex.load(tmp_path)
