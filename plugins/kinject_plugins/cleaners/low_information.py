"""``low-information``: drop boilerplate, repetition and symbol soup (TF-IDF score + ratios).

A share of repeated word 3-grams catches repetition of rare words, which the IDF score alone
lets through (a spam line repeated eight times is made of words few documents use).

The information score of a Record is the summed IDF of its distinct tokens, normalised by the
largest IDF and divided by its token count: a page of "click here" repeated, or a line made only
of words every document uses, scores near 0; ordinary prose scores 0.2-0.6. IDF is fitted on the
first ``fit_records`` Records of the stream (held back until then), so memory stays bounded.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Iterator

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Cleaner
from kinject.records import Record, Rejected
from kinject_plugins.cleaners.tokens import tokenize


class LowInformationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: Records scoring below this are dropped (``low_information``)
    threshold: float = Field(default=0.05, ge=0, le=1)
    #: Records with fewer tokens are dropped (``too_short``); 0 turns it off
    min_tokens: int = Field(default=3, ge=0)
    #: Records whose share of symbol characters exceeds this are dropped (``symbol_ratio``)
    max_symbol_ratio: float = Field(default=0.3, ge=0, le=1)
    #: Records whose share of repeated word 3-grams exceeds this are dropped (``repetition``)
    max_repetition: float = Field(default=0.5, ge=0, le=1)
    #: how many Records fit the IDF table before scoring starts
    fit_records: int = Field(default=5000, ge=1)


def repetition(tokens: list[str]) -> float:
    """Share of word 3-grams that repeat an earlier one ("click here to subscribe" x 8 -> 0.87)."""
    grams = list(zip(tokens, tokens[1:], tokens[2:], strict=False))
    return 1 - len(set(grams)) / len(grams) if len(grams) >= 8 else 0.0


def symbol_ratio(text: str) -> float:
    """Share of non-space characters that are neither letters nor digits."""
    visible = [ch for ch in text if not ch.isspace()]
    if not visible:
        return 0.0
    return sum(1 for ch in visible if not ch.isalnum()) / len(visible)


class IdfTable:
    """Document frequencies of tokens, and the smoothed IDF ``ln((1+N)/(1+df)) + 1``."""

    def __init__(self) -> None:
        self.df: Counter[str] = Counter()
        self.docs = 0

    def add(self, tokens: Iterable[str]) -> None:
        self.df.update(set(tokens))
        self.docs += 1

    def idf(self, token: str) -> float:
        return math.log((1 + self.docs) / (1 + self.df.get(token, 0))) + 1

    def score(self, tokens: list[str], window: int = 256) -> float:
        """Information score in [0, 1]: distinct-token IDF mass per token, normalised.

        Long texts are scored per ``window`` tokens and averaged: vocabulary grows slower than
        length, so a whole-book score would fall for reasons unrelated to its content.
        """
        if not tokens:
            return 0.0
        top = math.log(1 + self.docs) + 1  # IDF of a token seen in no fitted document
        chunks = [tokens[i : i + window] for i in range(0, len(tokens), window)]
        if len(chunks) > 1 and len(chunks[-1]) < window // 2:
            chunks[-2].extend(chunks.pop())
        scores = [sum(self.idf(t) for t in set(c)) / (top * len(c)) for c in chunks]
        return sum(scores) / len(scores)


class LowInformation(Cleaner):
    """Drops Records with a TF-IDF information score under ``threshold`` (``low_information``),
    fewer than ``min_tokens`` tokens (``too_short``), too many symbols (``symbol_ratio``) or
    repeated phrases (``repetition``)."""

    name = "low-information"
    description = "drop boilerplate, repetition and symbol soup (TF-IDF score, length, symbols)"
    Options = LowInformationOptions
    opts: LowInformationOptions

    def apply(self, records: Iterable[Record]) -> Iterator[Record | Rejected]:
        table = IdfTable()
        held: list[tuple[Record, list[str]]] = []
        for record in records:
            tokens = tokenize(record.text)
            if table.docs < self.opts.fit_records:
                table.add(tokens)
                held.append((record, tokens))
                continue
            for waiting, waiting_tokens in held:
                yield self._judge(waiting, waiting_tokens, table)
            held = []
            yield self._judge(record, tokens, table)
        for waiting, waiting_tokens in held:
            yield self._judge(waiting, waiting_tokens, table)

    def _judge(self, record: Record, tokens: list[str], table: IdfTable) -> Record | Rejected:
        ratio = symbol_ratio(record.text)
        if ratio > self.opts.max_symbol_ratio:
            return Rejected(record, "symbol_ratio", self.name, f"{ratio:.0%} symbols")
        if len(tokens) < self.opts.min_tokens:
            return Rejected(record, "too_short", self.name, f"{len(tokens)} tokens")
        score = table.score(tokens)
        if score < self.opts.threshold:
            return Rejected(
                record, "low_information", self.name, f"score {score:.3f} < {self.opts.threshold}"
            )
        repeated = repetition(tokens)
        if repeated > self.opts.max_repetition:
            return Rejected(record, "repetition", self.name, f"{repeated:.0%} of 3-grams repeat")
        return record
