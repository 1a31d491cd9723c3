"""kinject-legal: the legal domain pack for kinject.

Registers the ``legal`` :class:`kinject.domains.DomainPack` (a bilingual term list, a rubric, the
default recipe, a sample corpus about the fictional Republic of Veloria and a held-out eval set)
and two cleaners of its own: ``legal-citations`` (one spelling per citation) and
``statute-splitter`` (one Record per article).
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from kinject import hookimpl
from kinject.domains import DomainPack
from kinject.hookspecs import Register

PACK_DIR = Path(__file__).parent


def _version() -> str:
    try:
        return metadata.version("kinject-legal")
    except metadata.PackageNotFoundError:  # imported from a source tree without installing
        return "0.1.0"


def legal_pack() -> DomainPack:
    """The pack's description, with paths inside the installed package."""
    return DomainPack(
        name="legal",
        version=_version(),
        description="Contracts, tenancy, courts, citations (en/zh); fictional Veloria corpus",
        corpus=PACK_DIR / "corpus",
        eval=PACK_DIR / "eval.jsonl",
        terms=PACK_DIR / "terms.yaml",
        rubric=PACK_DIR / "rubric.yaml",
        recipe=PACK_DIR / "recipe.yaml",
        distribution="kinject-legal",
        extra={"languages": ["en", "zh"], "plugins": ["legal-citations", "statute-splitter"]},
    )


@hookimpl
def register_domains(register: Register) -> None:
    register(legal_pack())


@hookimpl
def register_cleaners(register: Register) -> None:
    from kinject_legal.citations import LegalCitationNormalizer
    from kinject_legal.statutes import StatuteSplitter

    register(LegalCitationNormalizer)
    register(StatuteSplitter)
