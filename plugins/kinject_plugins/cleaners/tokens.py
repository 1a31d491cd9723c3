"""Word tokens that work for English and Chinese alike, and the facts a text states.

Latin-script text splits into lower-cased words; CJK text has no spaces, so every CJK character
is a token of its own (the usual unit for n-gram overlap on Chinese).
"""

from __future__ import annotations

import hashlib
import re

import numpy as np

_CJK_RANGES = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK_RANGES}]|[^\W_]+(?:[.,'][^\W_]+)*")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_CN_NUMBER = re.compile(r"[零〇一二两三四五六七八九十百千万亿]{2,}")
_CAPITALISED = re.compile(r"\b[A-Z][a-zA-Z]+")
_SENTENCE_START = re.compile(r"(?:^|[.!?。！？]\s*)([A-Z][a-zA-Z]+)")
#: capitalised words that are not names (sentence openers after editing, titles)
_NOT_NAMES = frozenset(
    [
        "The",
        "A",
        "An",
        "This",
        "That",
        "These",
        "Those",
        "It",
        "Its",
        "In",
        "On",
        "At",
        "Of",
        "For",
        "To",
        "By",
        "With",
        "And",
        "Or",
        "But",
        "If",
        "When",
        "Where",
        "Mr",
        "Mrs",
        "Ms",
        "Dr",
        "Prof",
        "Article",
        "Section",
        "Chapter",
        "Page",
        "Table",
        "Figure",
        "Note",
        "I",
        "We",
        "You",
        "He",
        "She",
        "They",
    ]
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words and single CJK characters, in order."""
    return _TOKEN.findall(text.lower())


def cjk_ratio(text: str) -> float:
    """Share of CJK characters among the letters of ``text``."""
    letters = [ch for ch in text if ch.isalpha()]
    if not letters:
        return 0.0
    cjk = sum(1 for ch in letters if re.match(f"[{_CJK_RANGES}]", ch))
    return cjk / len(letters)


def facts(text: str) -> frozenset[str]:
    """The checkable facts of a text: its numbers (incl. dates, amounts) and capitalised names.

    Two texts from one template (a contract dated 2024-03-01 for $500 vs one dated 2024-04-01 for
    $700) embed almost identically; their facts differ, which is what tells them apart.
    """
    numbers = {n.replace(",", "") for n in _NUMBER.findall(text)}
    numbers |= set(_CN_NUMBER.findall(text))
    openers = set(_SENTENCE_START.findall(text))
    names = {w for w in _CAPITALISED.findall(text) if w not in _NOT_NAMES and w not in openers}
    return frozenset(numbers | {n.lower() for n in names})


def facts_agree(a: frozenset[str], b: frozenset[str]) -> bool:
    """True when one text's facts are all stated by the other (a shorter copy may omit some)."""
    return a <= b or b <= a


_SIGNATURE_SIZE = 32
_MULTIPLIERS = np.random.default_rng(20240101).integers(
    1, 2**63, _SIGNATURE_SIZE, dtype=np.uint64
) | np.uint64(1)
_MASKS = np.random.default_rng(20240102).integers(0, 2**63, _SIGNATURE_SIZE, dtype=np.uint64)


def lexical_signature(text: str) -> np.ndarray:
    """A 32-value MinHash of the text's token bigrams (estimates Jaccard overlap cheaply)."""
    toks = tokenize(text)
    grams = {f"{a} {b}" for a, b in zip(toks, toks[1:], strict=False)} or set(toks) or {""}
    # A stable hash (Python's hash() of a str is salted per process): the same text, the same
    # verdict.
    hashes = np.fromiter((_stable_hash(g) for g in grams), dtype=np.uint64, count=len(grams))
    # Multiplying by an odd constant and xor-ing a mask permutes 64-bit values: one hash family per
    # row.
    with np.errstate(over="ignore"):
        permuted = (hashes[None, :] * _MULTIPLIERS[:, None]) ^ _MASKS[:, None]
    return permuted.min(axis=1)


def _stable_hash(gram: str) -> int:
    return int.from_bytes(hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest(), "little")


def estimated_overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two :func:`lexical_signature` values."""
    return float(np.mean(a == b))
