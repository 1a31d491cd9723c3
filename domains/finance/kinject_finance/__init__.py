"""kinject-finance: the finance domain pack for kinject.

Registers the ``finance`` :class:`kinject.domains.DomainPack` (a bilingual term list, a rubric,
the default recipe, a sample corpus of fictional annual reports and regulator rules, and a
held-out eval set), the ``currency-normalize`` cleaner (one spelling per money amount) and the
``table-qa`` augmenter (question-answer pairs from statement tables).
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
        return metadata.version("kinject-finance")
    except metadata.PackageNotFoundError:  # imported from a source tree without installing
        return "0.1.0"


def finance_pack() -> DomainPack:
    """The pack's description, with paths inside the installed package."""
    return DomainPack(
        name="finance",
        version=_version(),
        description=(
            "Annual reports, ratios, capital rules and currencies (English and Chinese); sample "
            "corpus on fictional Northmarch-listed companies"
        ),
        corpus=PACK_DIR / "corpus",
        eval=PACK_DIR / "eval.jsonl",
        terms=PACK_DIR / "terms.yaml",
        rubric=PACK_DIR / "rubric.yaml",
        recipe=PACK_DIR / "recipe.yaml",
        distribution="kinject-finance",
        extra={"languages": ["en", "zh"], "plugins": ["currency-normalize", "table-qa"]},
    )


@hookimpl
def register_domains(register: Register) -> None:
    register(finance_pack())


@hookimpl
def register_cleaners(register: Register) -> None:
    from kinject_finance.currency import CurrencyNormalizer

    register(CurrencyNormalizer)


@hookimpl
def register_augmenters(register: Register) -> None:
    from kinject_finance.table_qa import TableQAGenerator

    register(TableQAGenerator)
