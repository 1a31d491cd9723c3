"""Fixtures of the legal pack's tests: the pack and its corpus text."""

from __future__ import annotations

import pytest

from kinject.domains import DomainPack
from kinject_legal import PACK


@pytest.fixture(scope="session")
def pack() -> DomainPack:
    return PACK


@pytest.fixture(scope="session")
def corpus_text(pack: DomainPack) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(pack.corpus.glob("*.md")))
