"""The word lists the rules backend uses, read from ``data/english.yaml`` (language data, not
code).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).parent / "data"


@cache
def lexicon() -> dict[str, Any]:
    """The whole English lexicon: ``months`` and one section per module that uses it."""
    data: dict[str, Any] = yaml.safe_load((DATA / "english.yaml").read_text(encoding="utf-8"))
    return data


def words(section: str, name: str) -> list[str]:
    """One list of a section, as strings (YAML may read a bare word as another type)."""
    return [str(w) for w in lexicon()[section][name]]


def alternation(items: list[str]) -> str:
    """A regex alternation of literal words, longest first so the longest form wins."""
    return "|".join(re.escape(w) for w in sorted(items, key=len, reverse=True))
