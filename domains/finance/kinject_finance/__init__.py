"""kinject-finance: the finance domain pack for kinject.

Registers the ``finance`` :class:`kinject.domains.DomainPack` (a bilingual term list, a rubric,
the default recipe, a sample corpus of fictional annual reports and regulator rules, and a
held-out eval set), the ``currency-normalize`` cleaner (one spelling per money amount) and the
``table-qa`` augmenter (question-answer pairs from statement tables).
"""

from __future__ import annotations

from kinject.domains import DomainPack, register_lazily

PACK = DomainPack.from_package(
    __name__,
    description=(
        "Annual reports, ratios, capital rules and currencies (English and Chinese); sample "
        "corpus on fictional Northmarch-listed companies"
    ),
    extra={"languages": ["en", "zh"], "plugins": ["currency-normalize", "table-qa"]},
)

register_domains = PACK.hook()
register_cleaners = register_lazily("kinject_finance.currency:CurrencyNormalizer")
register_augmenters = register_lazily("kinject_finance.table_qa:TableQAGenerator")
