"""Domain packs: a term list, a rubric, a default recipe, a sample corpus and an eval set."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import yaml

from kinject import hookimpl
from kinject.errors import InputError, PluginError
from kinject.hookspecs import Register

#: A ``register_*`` hook implementation, as pluggy calls it.
Hook = Callable[[Register], None]


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

    @classmethod
    def from_package(cls, package: str, description: str, **fields: Any) -> DomainPack:
        """The pack laid out by convention in the import package ``package`` (``kinject_<name>``).

        Next to the package's ``__init__.py``: ``corpus/``, ``eval.jsonl`` and, when present,
        ``terms.yaml``, ``rubric.yaml`` and ``recipe.yaml``. The name is the package's without
        ``kinject_``, the distribution ``kinject-<name>``, the version the installed
        distribution's. Any field given by keyword (``extra``, ``name``, a path) wins.
        """
        folder = _package_dir(package)
        name = fields.pop("name", package.removeprefix("kinject_"))
        distribution = fields.pop("distribution", f"kinject-{name}")
        optional = {key: folder / f"{key}.yaml" for key in ("terms", "rubric", "recipe")}
        defaults: dict[str, Any] = {
            "version": _installed_version(distribution),
            "corpus": folder / "corpus",
            "eval": folder / "eval.jsonl",
            **{key: path for key, path in optional.items() if path.is_file()},
        }
        return cls(
            name=name, description=description, distribution=distribution, **(defaults | fields)
        )

    def hook(self) -> Hook:
        """A ``register_domains`` implementation that registers this pack."""

        @hookimpl
        def register_domains(register: Register) -> None:
            register(self)

        return register_domains

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


def register_lazily(*targets: str) -> Hook:
    """A ``register_*`` implementation that imports ``"module:Class"`` targets when the hook runs.

    Loading a pack stays cheap: ``register_cleaners = register_lazily("kinject_legal.citations:
    LegalCitationNormalizer")`` imports the cleaner's module only when cleaners are listed.
    """

    @hookimpl
    def register(register: Register) -> None:
        for target in targets:
            register(_import_target(target))

    return register


def _import_target(target: str) -> Any:
    module, _, attribute = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise PluginError(f"cannot import plugin '{target}': {exc}") from exc


def _package_dir(package: str) -> Path:
    module = sys.modules.get(package) or importlib.import_module(package)
    if module.__file__ is None:
        raise PluginError(f"domain pack package '{package}' has no files on disk")
    return Path(module.__file__).parent


def _installed_version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:  # imported from a source tree without installing
        return ""


def _load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as f:
            return yaml.safe_load(f) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError("bad_yaml", str(exc).splitlines()[0], uri=str(path)) from exc
