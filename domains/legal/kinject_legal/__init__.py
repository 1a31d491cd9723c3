"""kinject-legal: the legal domain pack for kinject.

Registers the ``legal`` :class:`kinject.domains.DomainPack` (a bilingual term list, a rubric, the
default recipe, a sample corpus about the fictional Republic of Veloria and a held-out eval set)
and two cleaners of its own: ``legal-citations`` (one spelling per citation) and
``statute-splitter`` (one Record per article).
"""

from __future__ import annotations

from kinject.domains import DomainPack, register_lazily

PACK = DomainPack.from_package(
    __name__,
    description="Contracts, tenancy, courts, citations (en/zh); fictional Veloria corpus",
    extra={"languages": ["en", "zh"], "plugins": ["legal-citations", "statute-splitter"]},
)

register_domains = PACK.hook()
register_cleaners = register_lazily(
    "kinject_legal.citations:LegalCitationNormalizer",
    "kinject_legal.statutes:StatuteSplitter",
)
