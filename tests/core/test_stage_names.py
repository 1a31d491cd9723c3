"""The stage names hooks.md lists are the stages a run goes through (``kinject.stages.STAGES``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from kinject import hookimpl
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.pipeline import open_run, resolve_config, run_pipeline
from kinject.plugins import Plugins
from kinject.stages import STAGES

HOOKS_DOC = Path(__file__).resolve().parents[2] / "docs" / "plugins" / "hooks.md"


def documented_stages() -> list[str]:
    """The first column of the stage table under ``stage_started`` in hooks.md."""
    section = HOOKS_DOC.read_text(encoding="utf-8").split("### stage_started", 1)[1]
    section = section.split("\n### ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def test_hooks_md_lists_every_stage_in_order() -> None:
    assert documented_stages() == list(STAGES)


class StageLog:
    def __init__(self) -> None:
        self.started: list[str] = []
        self.finished: list[str] = []

    @hookimpl
    def stage_started(self, stage: str, context: RunContext) -> None:
        self.started.append(stage)

    @hookimpl
    def stage_finished(self, stage: str, context: RunContext, stats: dict[str, Any]) -> None:
        self.finished.append(stage)


def test_a_run_on_a_users_corpus_goes_through_exactly_those_stages(
    stand_ins: DomainPack,
    register_plugin: Any,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    user_corpus: Path,
) -> None:
    log = register_plugin(StageLog(), name="stage-log")
    overrides = {
        "strategy": "copy",
        "base_model": str(tiny_model),
        "corpus": [str(user_corpus)],
        "evaluators": ["count-params"],
        "exporters": [],
        "augmenters": [],
        "cleaners": ["normalize"],
        "run_dir": str(tmp_path / "run"),
        "forgetting": False,
    }
    config, pack = resolve_config(kinject_plugins, "sample", None, overrides)
    run_pipeline(open_run(config, kinject_plugins, pack, show_progress=False))
    assert log.started == list(STAGES)
    assert log.finished == list(STAGES)
