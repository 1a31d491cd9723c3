"""Shared paths for the legal pack's tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from kinject.domains import DomainPack
from kinject_legal import legal_pack

#: ../shared/data next to the repository root (absent in a user's clone)
SHARED_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def pack() -> DomainPack:
    return legal_pack()


@pytest.fixture(scope="session")
def corpus_text(pack: DomainPack) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(pack.corpus.glob("*.md")))
