"""``decontaminate``: drop training Records that contain an evaluation item.

Two tests, either one drops the Record (reason ``contaminated``):

1. **n-gram overlap**: the Record shares a 13-token sequence (English words / Chinese characters)
   with an eval question or reference answer; a question shorter than 13 tokens (but at least
   ``min_question_tokens``) counts when it appears whole.
2. **embedding match**: a question in the Record (a QA Record's question, a preference prompt,
   and with ``embed_documents`` every sentence of a document) has cosine >= ``similarity``
   (0.95) with an eval question and shares at least ``min_overlap`` of its word bigrams.
   Documents are checked by n-grams only by default: embedding every sentence of a large corpus
   costs more than near-dedup itself, and verbatim leaks are what n-grams catch.

The thresholds are high on purpose: the eval set is phrased differently from the corpus so that
it tests knowledge, not recall of wording. A training text that states the same *fact* in other
words ("the deposit may not exceed 20% of the price" vs "What is the cap on a deposit?") stays.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Cleaner
from kinject.context import RunContext
from kinject.evaluation import EvalItem, load_eval_items
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.standardize import Standardize
from kinject_plugins.cleaners.tokens import tokenize

_SENTENCE = re.compile(r"(?<=[.?!。？！])\s*|\n+")


class DecontaminateOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: n-gram length in tokens
    ngram: int = Field(default=13, ge=3)
    #: eval questions shorter than ``ngram`` but at least this long match when contained whole
    min_question_tokens: int = Field(default=8, ge=3)
    #: also match reference answers of at least ``ngram`` tokens
    check_answers: bool = True
    #: embedding test (off: n-grams only)
    embed: bool = True
    #: cosine at or above which a question in the Record matches an eval question
    similarity: float = Field(default=0.95, gt=0, le=1)
    #: ...and the share of word bigrams the two must have in common (Jaccard)
    min_overlap: float = Field(default=0.3, ge=0, le=1)
    #: embed every sentence of document Records too (slow on large corpora)
    embed_documents: bool = False
    #: record kinds checked (None: all); the engine checks only ``qa``/``preference`` records
    #: against questions built from the corpus, whose passages must stay to be learned
    kinds: list[str] | None = None
    #: an extra eval JSONL to protect besides the run's eval set
    eval_path: str | None = None
    model: str | None = None
    device: str | None = None
    batch_size: int = Field(default=256, ge=1)


def ngrams(tokens: list[str], n: int) -> Iterator[tuple[str, ...]]:
    """Every run of ``n`` consecutive tokens."""
    return (tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def bigrams(text: str) -> set[tuple[str, str]]:
    toks = tokenize(text)
    return set(zip(toks, toks[1:], strict=False))


class Decontaminate(Cleaner):
    """Drops Records that contain an eval question or answer (13-gram or embedding match)."""

    name = "decontaminate"
    description = "drop training Records containing an eval item (13-gram or embedding match)"
    Options = DecontaminateOptions
    opts: DecontaminateOptions

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.items: list[EvalItem] = []
        self._grams: dict[int, dict[tuple[str, ...], str]] = {}
        self._vectors: np.ndarray | None = None
        self._bigrams: list[set[tuple[str, str]]] = []
        # Compare in one canonical form: "5 March 2024" in an eval question still matches a
        # training text that ``standardize`` rewrote to "2024-03-05" (and "$1,200" to "1200 USD").
        self._canonical = Standardize(units=False)

    def _tokens(self, text: str) -> list[str]:
        return tokenize(self._canonical.standardize(text)[0])

    def setup(self, context: RunContext) -> None:
        items = list(context.eval_items)
        self.protect(items)

    def protect(self, items: list[EvalItem]) -> None:
        """Index the eval items (plus ``eval_path``) that training data must not contain."""
        if self.opts.eval_path:
            items = [*items, *load_eval_items(Path(self.opts.eval_path))]
        self.items = items
        self._grams = {}
        n = self.opts.ngram
        for item in items:
            texts = [item.question] + ([item.reference] if self.opts.check_answers else [])
            for i, text in enumerate(texts):
                toks = self._tokens(text)
                if len(toks) >= n:
                    for gram in ngrams(toks, n):
                        self._grams.setdefault(n, {})[gram] = item.id
                elif i == 0 and len(toks) >= self.opts.min_question_tokens:
                    self._grams.setdefault(len(toks), {})[tuple(toks)] = item.id
        if self.opts.embed and items:
            from kinject.embeddings import embed

            self._vectors = embed(
                [it.question for it in items], model=self.opts.model, device=self.opts.device
            )
            self._bigrams = [bigrams(it.question) for it in items]

    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        if not self.items:
            yield from records
            return
        stream = iter(records)
        while batch := list(islice(stream, self.opts.batch_size)):
            verdicts = [self._ngram_hit(r) if self._checked(r) else None for r in batch]
            if self._vectors is not None:
                verdicts = self._embedding_hits(batch, verdicts)
            for record, verdict in zip(batch, verdicts, strict=True):
                yield (
                    record
                    if verdict is None
                    else Rejected(record, "contaminated", self.name, verdict)
                )

    def _checked(self, record: Record) -> bool:
        return self.opts.kinds is None or record.kind in self.opts.kinds

    def _ngram_hit(self, record: Record) -> str | None:
        for text in _texts(record):
            toks = self._tokens(text)
            for n, grams in self._grams.items():
                for gram in ngrams(toks, n):
                    if gram in grams:
                        return (
                            f"{n}-gram overlap with eval item {grams[gram]}: "
                            f"{' '.join(gram)[:80]!r}"
                        )
        return None

    def _embedding_hits(self, batch: list[Record], verdicts: list[str | None]) -> list[str | None]:
        from kinject.embeddings import embed

        owners, units = [], []
        for i, record in enumerate(batch):
            if verdicts[i] is None and self._checked(record):
                for unit in _question_units(record, self.opts.embed_documents):
                    owners.append(i)
                    units.append(unit)
        if not units:
            return verdicts
        assert self._vectors is not None
        scores = embed(units, model=self.opts.model, device=self.opts.device) @ self._vectors.T
        for row, col in np.argwhere(scores >= self.opts.similarity):
            owner = owners[row]
            if verdicts[owner] is not None:
                continue
            mine, theirs = bigrams(units[row]), self._bigrams[col]
            overlap = len(mine & theirs) / max(1, len(mine | theirs))
            if overlap >= self.opts.min_overlap:
                item = self.items[col]
                verdicts[owner] = (
                    f"matches eval item {item.id} (cosine {scores[row, col]:.3f}, overlap "
                    f"{overlap:.2f})"
                )
        return verdicts


def _texts(record: Record) -> list[str]:
    extra = [
        v
        for k in ("question", "answer", "prompt", "chosen")
        if isinstance(v := record.meta.get(k), str)
    ]
    return [record.text, *extra]


def _question_units(record: Record, documents: bool) -> list[str]:
    """The parts of a Record that could be an eval question in disguise."""
    for key in ("question", "prompt"):
        if isinstance(value := record.meta.get(key), str) and value.strip():
            return [value]
    if not documents:
        return []
    parts = [p.strip() for p in _SENTENCE.split(record.text)]
    return [p for p in parts if len(tokenize(p)) >= 4]
