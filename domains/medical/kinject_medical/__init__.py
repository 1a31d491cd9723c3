"""kinject-medical: the medical domain pack for kinject.

Registers the ``medical`` :class:`kinject.domains.DomainPack` (a bilingual term list, a rubric,
the default recipe, a sample corpus about a fictional formulary and health authority, and a
held-out eval set) and two cleaners of its own: ``phi-scrub`` (masks protected health
information) and ``abbrev-expand`` (spells out clinical abbreviations from the term list).
"""

from __future__ import annotations

from kinject.domains import DomainPack, register_lazily

PACK = DomainPack.from_package(
    __name__,
    description=(
        "Drugs, doses, guidelines, abbreviations and ICD-10 (English and Chinese); sample "
        "corpus on the fictional Aldmoor formulary"
    ),
    extra={"languages": ["en", "zh"], "plugins": ["phi-scrub", "abbrev-expand"]},
)

register_domains = PACK.hook()
register_cleaners = register_lazily(
    "kinject_medical.phi_scrub:PhiScrubber",
    "kinject_medical.abbreviations:AbbreviationExpander",
)
