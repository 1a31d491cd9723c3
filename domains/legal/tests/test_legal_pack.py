"""The pack is installed, discovered through the entry point, and its files are where it says."""

from __future__ import annotations

from importlib import metadata

import pytest

from kinject.config import build_config
from kinject.domains import DomainPack
from kinject.plugins import build_plugins, require_domain


def _entry_point_installed() -> bool:
    return any(ep.name == "legal" for ep in metadata.entry_points(group="kinject"))


@pytest.mark.skipif(not _entry_point_installed(), reason="kinject-legal is not pip-installed")
def test_discovered_through_the_entry_point(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KINJECT_LOAD_PLUGINS", raising=False)
    plugins = build_plugins()
    assert "legal" in plugins.domains().names()
    entry = plugins.domains().get("legal")
    assert entry.distribution == "kinject-legal"
    assert {"legal-citations", "statute-splitter"} <= set(plugins.registry("cleaner").names())
    assert require_domain(plugins, "legal").name == "legal"


def test_pack_paths_exist(pack: DomainPack) -> None:
    assert pack.corpus.is_dir()
    for path in (pack.eval, pack.terms, pack.rubric, pack.recipe):
        assert path is not None and path.is_file(), path


def test_summary_counts(pack: DomainPack) -> None:
    summary = pack.summary()
    assert summary["terms"] >= 150
    assert 4 <= summary["corpus_files"] <= 8
    assert 50 <= summary["eval_items"] <= 70
    assert summary["rubric_criteria"] >= 5


def test_corpus_size_and_fiction_label(pack: DomainPack) -> None:
    files = sorted(pack.corpus.glob("*.md"))
    words = sum(len(p.read_text(encoding="utf-8").split()) for p in files)
    assert 2500 <= words <= 4500
    for path in files:
        head = path.read_text(encoding="utf-8")[:400]
        assert "fictional" in head or "虚构" in head, f"{path.name} does not say it is fictional"


def test_recipe_is_a_valid_run_config(pack: DomainPack) -> None:
    config = build_config(pack.load_recipe(), source=str(pack.recipe))
    assert [s.name for s in config.cleaners] == ["normalize", "legal-citations", "exact-dedup"]
    assert [s.name for s in config.augmenters] == ["paraphrase", "qa-generate", "term-qa"]
    assert config.strategy == "sft" and config.trainer["epochs"] == 1
    assert [s.name for s in config.evaluators] == ["knowledge-qa", "rubric"]
    assert [s.name for s in config.exporters] == ["adapter"]


def test_every_strategy_has_a_budget_its_trainer_accepts() -> None:
    from kinject.testing import check_recipe_strategies

    budgets = check_recipe_strategies("legal")
    assert set(budgets) == {"sft", "ewc", "distill", "rlhf", "dpo"}
    assert budgets["ewc"]["epochs"] == budgets["sft"]["epochs"] == 1
    assert "epochs" not in budgets["rlhf"]  # the sft block stayed with sft
