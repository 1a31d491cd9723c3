"""The whole flow with stand-in trainer/evaluator/exporter plugins on a tiny model."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.errors import InputError
from kinject.pipeline import open_run, resolve_config, run_pipeline
from kinject.plugins import Plugins


def _run(plugins: Plugins, tmp_path: Path, tiny_model: Path, **extra: Any) -> RunContext:
    overrides = {
        "strategy": "copy",
        "base_model": str(tiny_model),
        "evaluators": ["count-params"],
        "exporters": ["failing"],
        "augmenters": [],
        "cleaners": ["normalize"],
        "run_dir": str(tmp_path / "run"),
        "forgetting": False,
        **extra,
    }
    config, pack = resolve_config(plugins, "sample", None, overrides)
    return open_run(config, plugins, pack, show_progress=False)


def test_full_flow_writes_report_metrics_manifest(
    stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    context = _run(kinject_plugins, tmp_path, tiny_model)
    outcome = run_pipeline(context)
    run = context.run_dir
    for name in (
        "manifest.json",
        "metrics.json",
        "report.md",
        "report.html",
        "data/sources.jsonl",
        "data/train.jsonl",
    ):
        assert (run / name).exists(), name
    metrics = json.loads((run / "metrics.json").read_text())
    assert (
        metrics["base"]["count-params.n_params"] == metrics["trained"]["count-params.n_params"] > 0
    )
    assert metrics["trained"]["count-params.items"] == 2
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["status"] == "finished"
    assert set(manifest["stages"]) >= {
        "sources",
        "cleaners",
        "augmenters",
        "split",
        "train",
        "evaluate",
        "export",
    }
    assert manifest["inputs"] and manifest["versions"]["python"]
    assert "disk full" in outcome.exports["failing"]["error"]
    assert "FAILED" in (run / "report.md").read_text()


def test_rerun_skips_finished_stages(
    train_calls: list[str], kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model))
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model))
    assert len([c for c in train_calls if c.startswith("train")]) == 1
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert all(
        manifest["stages"][s]["skipped"]
        for s in ("sources", "cleaners", "augmenters", "split", "train")
    )


def test_changed_cleaners_recompute_from_that_stage(
    train_calls: list[str], kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model))
    run_pipeline(_run(kinject_plugins, tmp_path, tiny_model, cleaners=["normalize", "exact-dedup"]))
    stages = json.loads((tmp_path / "run" / "manifest.json").read_text())["stages"]
    assert stages["sources"]["skipped"] and not stages["cleaners"]["skipped"]
    assert len([c for c in train_calls if c.startswith("train")]) == 2


def test_empty_corpus_is_a_clear_error(
    stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "blank.md").write_text("", encoding="utf-8")
    context = _run(kinject_plugins, tmp_path, tiny_model, corpus=[str(empty)])
    with pytest.raises(InputError, match="produced no records"):
        run_pipeline(context)


def test_unsupported_file_is_quarantined_and_batch_continues(
    stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    corpus = tmp_path / "mixed"
    shutil.copytree(stand_ins.corpus, corpus)
    (corpus / "weird.xyz123").write_bytes(b"\x00\x01")
    context = _run(kinject_plugins, tmp_path, tiny_model, corpus=[str(corpus)])
    run_pipeline(context)
    lines = [json.loads(x) for x in (context.run_dir / "quarantine.jsonl").read_text().splitlines()]
    assert any(q["uri"].endswith("weird.xyz123") and q["reason"] for q in lines)
    assert (context.run_dir / "data" / "sources.jsonl").read_text().strip()
