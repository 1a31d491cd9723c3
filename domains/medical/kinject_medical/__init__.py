"""kinject-medical: the medical domain pack for kinject.

Registers the ``medical`` :class:`kinject.domains.DomainPack` (a bilingual term list, a rubric,
the default recipe, a sample corpus about a fictional formulary and health authority, and a
held-out eval set) and two cleaners of its own: ``phi-scrub`` (masks protected health
information) and ``abbrev-expand`` (spells out clinical abbreviations from the term list).
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
        return metadata.version("kinject-medical")
    except metadata.PackageNotFoundError:  # imported from a source tree without installing
        return "0.1.0"


def medical_pack() -> DomainPack:
    """The pack's description, with paths inside the installed package."""
    return DomainPack(
        name="medical",
        version=_version(),
        description=(
            "Drugs, doses, guidelines, abbreviations and ICD-10 (English and Chinese); sample "
            "corpus on the fictional Aldmoor formulary"
        ),
        corpus=PACK_DIR / "corpus",
        eval=PACK_DIR / "eval.jsonl",
        terms=PACK_DIR / "terms.yaml",
        rubric=PACK_DIR / "rubric.yaml",
        recipe=PACK_DIR / "recipe.yaml",
        distribution="kinject-medical",
        extra={"languages": ["en", "zh"], "plugins": ["phi-scrub", "abbrev-expand"]},
    )


@hookimpl
def register_domains(register: Register) -> None:
    register(medical_pack())


@hookimpl
def register_cleaners(register: Register) -> None:
    from kinject_medical.abbreviations import AbbreviationExpander
    from kinject_medical.phi_scrub import PhiScrubber

    register(PhiScrubber)
    register(AbbreviationExpander)
