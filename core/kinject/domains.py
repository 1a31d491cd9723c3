"""Domain packs: a term list, a rubric, a default recipe, a sample corpus and an eval set."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from kinject.errors import InputError


@dataclass
class Term:
    """One entry of a domain term list."""

    term: str
    definition: str = ""
    synonyms: list[str] = field(default_factory=list)
    confusables: list[str] = field(default_factory=list)
    language: str = "en"
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class DomainPack:
    """What a domain pack registers through ``register_domains``.

    Paths point inside the installed pack. ``corpus`` is a directory of documents; ``eval`` a
    JSONL file of :class:`kinject.evaluation.EvalItem`; ``terms`` a YAML list of :class:`Term`;
    ``rubric`` and ``recipe`` YAML files.
    """

    name: str
    version: str
    description: str
    corpus: Path
    eval: Path
    terms: Path | None = None
    rubric: Path | None = None
    recipe: Path | None = None
    distribution: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def load_terms(self) -> list[Term]:
        if self.terms is None:
            return []
        data = _load_yaml(self.terms)
        entries = data.get("terms", data) if isinstance(data, dict) else data
        if not isinstance(entries, list):
            raise InputError("bad_terms", "expected a list of terms", uri=str(self.terms))
        known = set(Term.__dataclass_fields__)
        return [Term(**{k: v for k, v in e.items() if k in known}) for e in entries]

    def load_rubric(self) -> dict[str, Any]:
        return _load_yaml(self.rubric) if self.rubric else {}

    def load_recipe(self) -> dict[str, Any]:
        return _load_yaml(self.recipe) if self.recipe else {}

    def summary(self) -> dict[str, Any]:
        """Counts shown by ``inject domains``."""
        from kinject.evaluation import load_eval_items

        docs = [p for p in self.corpus.rglob("*") if p.is_file()] if self.corpus.is_dir() else []
        return {
            "terms": len(self.load_terms()),
            "corpus_files": len(docs),
            "eval_items": len(load_eval_items(self.eval)) if self.eval.exists() else 0,
            "rubric_criteria": len(self.load_rubric().get("criteria", [])),
        }


def _load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError("bad_yaml", str(exc).splitlines()[0], uri=str(path)) from exc
