"""``rag``: no training. Retrieval over the corpus, passages in the prompt at evaluation.

One run, top to bottom: the training records of kind ``document`` -> overlapping word-window
passages -> unit vectors from the shared embedder (``kinject.embeddings``) -> a faiss index ->
``<output_dir>/index/`` holding ``index.faiss``, ``passages.jsonl`` and ``rag.json`` (embedder,
k, base model, prompt format). At evaluation the base model answers with the top-k passages
before each question; :class:`RagIndex` does the same for a user serving the index.
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from kinject.chunking import passage_text
from kinject.components import Trainer, TrainJob, TrainResult
from kinject.errors import ConfigError, MissingDependencyError
from kinject.records import Record

if TYPE_CHECKING:
    from kinject.context import RunContext
    from kinject.evaluation import EvalModel

FORMAT = "kinject-rag/1"
CONFIG_FILE = "rag.json"
INDEX_FILE = "index.faiss"
PASSAGES_FILE = "passages.jsonl"


class RAGOptions(BaseModel):
    """Options of the ``rag`` strategy."""

    model_config = ConfigDict(extra="forbid")

    #: passages put before each question
    k: int = Field(3, ge=1)
    #: an embedder alias, directory or cached hub id; None: the engine's default
    embedder: str | None = None
    #: record kinds indexed
    kinds: list[str] = Field(default_factory=lambda: ["document"])
    index_kind: Literal["auto", "flat", "ivf", "hnsw"] = "auto"
    #: passages embedded per forward pass
    embed_batch_size: int = Field(64, ge=1)
    #: auto: bf16 autocast on CPUs with native bf16 matmuls (vectors still float32), else fp32
    embed_precision: Literal["auto", "fp32", "bf16"] = "auto"


def faiss_module() -> Any:
    """The faiss module, or an error saying what to install."""
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError("faiss-cpu", "embed", what="the rag index") from exc
    return faiss


def passages_of(records: list[Record], kinds: list[str]) -> list[dict[str, Any]]:
    """One passage per record, as the chunk stage cut it (title line included), with its source.

    The engine's chunk stage already fits every record to the trainer's length, so ``rag`` and
    the trained strategies see the same passages.
    """
    return [
        {
            "id": record.id,
            "text": passage_text(record),
            "record_id": record.id,
            "source": record.source,
        }
        for record in records
        if record.kind in kinds and record.text.strip()
    ]


@dataclass
class RagIndex:
    """A saved retrieval index: ``RagIndex.load(dir).retrieve(question)`` gives the top-k
    passages.
    """

    folder: Path
    config: dict[str, Any]
    passages: list[dict[str, Any]]
    index: Any = field(repr=False)

    @classmethod
    def load(cls, folder: Path) -> RagIndex:
        """Read ``rag.json``, the passages and the faiss index from ``folder``."""
        from kinject.embeddings import VectorIndex

        folder = Path(folder)
        config_file = folder / CONFIG_FILE
        if not config_file.is_file():
            raise ConfigError(f"not a rag index: {CONFIG_FILE} is missing", source=str(folder))
        config = json.loads(config_file.read_text(encoding="utf-8"))
        if config.get("format") != FORMAT:
            raise ConfigError(
                f"unknown rag index format {config.get('format')!r} (expected {FORMAT})",
                source=str(config_file),
            )
        with (folder / config["passages"]).open(encoding="utf-8") as f:
            passages = [json.loads(line) for line in f if line.strip()]
        raw = faiss_module().read_index(str(folder / config["index"]))
        index = VectorIndex(raw, config["index_kind"], list(range(raw.ntotal)))
        return cls(folder, config, passages, index)

    @property
    def k(self) -> int:
        return int(self.config["k"])

    def retrieve(self, question: str, k: int | None = None) -> list[str]:
        """The texts of the ``k`` passages closest to ``question`` (cosine), best first."""
        from kinject.embeddings import embed

        vectors = embed([question], model=self.config["embedder"])
        _, found = self.index.search(vectors, k or self.k)
        return [self.passages[row]["text"] for row in found[0]]

    def prompt(self, question: str) -> str:
        """The prompt the evaluation used: retrieved passages, then the question."""
        from kinject.evaluation import EvalModel

        return EvalModel(model=None, tokenizer=None, label="rag", retrieve=self.retrieve).prompt(
            question
        )


class RAGTrainer(Trainer):
    """Retrieval-augmented baseline: index the corpus, no weights change."""

    name = "rag"
    description = "no training: faiss index over the corpus, top-k passages in the prompt"
    Options: ClassVar[type[BaseModel]] = RAGOptions
    opts: RAGOptions

    def train(self, job: TrainJob) -> TrainResult:
        from kinject.embeddings import (
            DEFAULT_EMBEDDER,
            build_index,
            embed,
            load_embedder,
            resolve_precision,
        )
        from kinject_plugins.trainers.sft import peak_memory_mb

        started = time.perf_counter()
        o = self.opts
        passages = passages_of(job.train, o.kinds)
        if not passages:
            kinds = sorted({r.kind for r in job.train}) or ["none"]
            raise ConfigError(
                f"no records of kind {', '.join(o.kinds)} to index (kinds seen: "
                f"{', '.join(kinds)})",
                source="trainer rag",
            )
        precision = resolve_precision(o.embed_precision, str(load_embedder(o.embedder).device))
        embedding_started = time.perf_counter()
        vectors = embed(
            [p["text"] for p in passages],
            batch_size=o.embed_batch_size,
            model=o.embedder,
            precision=precision,
        )
        embed_s = time.perf_counter() - embedding_started
        index = build_index(vectors, kind=o.index_kind)
        final = job.output_dir / "index"
        staging = final.with_name("index.partial")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        faiss_module().write_index(index.index, str(staging / INDEX_FILE))
        with (staging / PASSAGES_FILE).open("w", encoding="utf-8") as f:
            for passage in passages:
                f.write(json.dumps(passage, ensure_ascii=False) + "\n")
        config = {
            "format": FORMAT,
            "embedder": o.embedder or DEFAULT_EMBEDDER,
            "k": o.k,
            "base_model": str(job.base_model),
            "index": INDEX_FILE,
            "passages": PASSAGES_FILE,
            "index_kind": index.kind,
            "dim": int(vectors.shape[1]),
            "passages_from": "the run's chunk stage",
            "prompt": "Context:\n- {passage}\n...\n\nQuestion: {question}\nAnswer:",
        }
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2), encoding="utf-8")
        shutil.rmtree(final, ignore_errors=True)
        staging.rename(final)
        seconds = time.perf_counter() - started
        metrics = {
            "train_time_s": round(seconds, 3),
            "passages": len(passages),
            "documents": len({p["record_id"] for p in passages}),
            "embedding_dim": int(vectors.shape[1]),
            "index_kind": index.kind,
            "trainable_params": 0,
            "steps": 0,
            "embed_s": round(embed_s, 3),
            "passages_per_s": round(len(passages) / max(embed_s, 1e-9), 1),
            "embed_batch_size": o.embed_batch_size,
            "embed_precision": precision,
            "peak_memory_mb": round(peak_memory_mb(), 1),
        }
        return TrainResult(
            model_dir=final,
            base_model=job.base_model,
            adapter=False,
            metrics=metrics,
            extra={"kind": "rag"},
        )

    def load_for_eval(self, result: TrainResult, context: RunContext) -> EvalModel:
        """The base model, unchanged, with ``retrieve`` set to the index's top-k search."""
        from kinject.evaluation import EvalModel
        from kinject.models import load_causal_lm

        index = RagIndex.load(result.model_dir)
        model, tokenizer = load_causal_lm(result.base_model)
        model.eval()
        info = {"kind": "rag", "k": index.k, "passages": len(index.passages)}
        return EvalModel(
            model=model, tokenizer=tokenizer, label=self.name, retrieve=index.retrieve, info=info
        )
