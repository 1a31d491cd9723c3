"""``inject prepare``, ``inject eval``, ``inject export`` and ``inject ingest`` through the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from kinject import hookimpl
from kinject.cli.app import build_cli
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.plugins import Plugins

#: a run of the sample pack on the tiny model with the stand-in trainer, evaluator and exporter
RUN_FLAGS = (
    "--domain",
    "sample",
    "--strategy",
    "copy",
    "--set",
    "evaluators=[count-params]",
    "--set",
    "exporters=[]",
    "--set",
    "forgetting=false",
    "--quiet",
)


def invoke(*args: str) -> Result:
    """Run the CLI the way the ``inject`` script does (errors as one line on stderr)."""
    from kinject.cli import main

    class Main:
        name = "inject"

        def main(self, args: list[str], prog_name: str | None = None, **_: Any) -> None:
            main(args)

    return CliRunner().invoke(Main(), list(args), catch_exceptions=False)  # type: ignore[arg-type]


class StageRecorder:
    """Keeps the stats of every finished stage, in order."""

    def __init__(self) -> None:
        self.stages: list[tuple[str, dict[str, Any]]] = []

    @hookimpl
    def stage_finished(self, stage: str, context: RunContext, stats: dict[str, Any]) -> None:
        self.stages.append((stage, stats))

    def first(self, stage: str) -> dict[str, Any]:
        return next(stats for name, stats in self.stages if name == stage)


@pytest.fixture
def stages(register_plugin: Callable[..., Any]) -> StageRecorder:
    return register_plugin(StageRecorder(), name="stage-recorder")  # type: ignore[no-any-return]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Work in a temporary folder (runs/ lands there) with its own KINJECT_HOME."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("KINJECT_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def finished_run(stand_ins: DomainPack, tiny_model: Path, home: Path) -> Path:
    """A finished run of the sample pack (stand-in trainer: the tiny model copied)."""
    result = invoke(*RUN_FLAGS, "--base-model", str(tiny_model), "--run-dir", str(home / "run"))
    assert result.exit_code == 0, result.output
    return home / "run"


def _manifest(run_dir: Path) -> dict[str, Any]:
    return json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _error_line(result: Result) -> str:
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    return lines[-1]


@pytest.mark.parametrize("command", ["prepare", "eval", "export", "ingest"])
def test_commands_are_listed_and_documented(kinject_plugins: Plugins, command: str) -> None:
    assert command in CliRunner().invoke(build_cli(), ["--help"]).output
    result = CliRunner().invoke(build_cli(), [command, "--help"])
    assert (
        result.exit_code == 0
        and "Examples:" in result.output
        and f"inject {command}" in result.output
    )
    assert "--resume" not in result.output  # none of them trains


# -- prepare ------------------------------------------------------------------------------------


def test_prepare_then_run_loads_every_data_stage(
    train_calls: list[str], stages: StageRecorder, tiny_model: Path, home: Path
) -> None:
    flags = (*RUN_FLAGS, "--base-model", str(tiny_model))
    prepared = invoke("prepare", *flags)
    assert prepared.exit_code == 0, prepared.output
    run_dirs = list((home / "runs").iterdir())
    assert len(run_dirs) == 1 and _manifest(run_dirs[0])["status"] == "prepared"
    assert not (run_dirs[0] / "model").exists() and not train_calls
    assert "Status: prepared" in prepared.stdout and "sources" in prepared.stdout
    stages.stages.clear()

    trained = invoke(*flags)
    assert trained.exit_code == 0, trained.output
    assert list((home / "runs").iterdir()) == run_dirs  # the same run directory
    for stage in ("sources", "cleaners", "chunk", "augmenters", "split"):
        assert stages.first(stage)["skipped"] is True, stage
    assert len(train_calls) == 1 and _manifest(run_dirs[0])["status"] == "finished"

    again = invoke("prepare", *flags)
    # nothing changed
    assert again.exit_code == 0 and _manifest(run_dirs[0])["status"] == "finished"


def test_prepare_summarises_kinds_tokens_and_samples(
    stand_ins: DomainPack, tiny_model: Path, home: Path, user_corpus: Path
) -> None:
    result = invoke(
        "prepare",
        *RUN_FLAGS,
        "--base-model",
        str(tiny_model),
        "--corpus",
        str(user_corpus),
        "--set",
        "augmenters=[qa-generate]",
        "--samples",
        "1",
        "--run-dir",
        str(home / "run"),
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "qa (qa-generate)" in out and "built from your corpus" in out
    samples = [line for line in out.splitlines() if line.startswith("[")]
    assert {line.split("]")[0] for line in samples} == {"[document", "[qa (qa-generate)"}
    assert any("Harbour Lights" in line or "Northgate" in line for line in samples)
    train = [
        json.loads(line)
        for line in (home / "run" / "data" / "train.jsonl").read_text().splitlines()
    ]
    assert str(sum(1 for r in train if r["kind"] == "qa")) in out


def test_prepare_reports_a_missing_corpus_in_one_line(
    stand_ins: DomainPack, tiny_model: Path, home: Path
) -> None:
    result = invoke(
        "prepare", *RUN_FLAGS, "--base-model", str(tiny_model), "--corpus", "/no/such/dir"
    )
    assert "corpus path not found: /no/such/dir" in _error_line(result)


# -- eval ---------------------------------------------------------------------------------------


def test_eval_of_a_model_directory_writes_metrics_report_and_a_listed_run(
    stand_ins: DomainPack, stages: StageRecorder, tiny_model: Path, home: Path
) -> None:
    from kinject.models import load_causal_lm

    args = (
        "eval",
        "--model",
        str(tiny_model),
        "--domain",
        "sample",
        "--evaluators",
        "count-params",
        "--run-dir",
        str(home / "runs" / "ev"),
    )
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    saved = json.loads(
        (home / "runs" / "ev" / "evaluation" / f"{tiny_model.name}.json").read_text()
    )
    params = sum(p.numel() for p in load_causal_lm(tiny_model)[0].parameters())
    assert saved["metrics"] == {"count-params.n_params": params, "count-params.items": 2}
    assert f"count-params.n_params: {params:,}" in result.stdout
    assert "count-params.n_params" in (home / "runs" / "ev" / "report.md").read_text()
    assert _manifest(home / "runs" / "ev")["status"] == "evaluated"

    assert invoke(*args).exit_code == 0
    assert [s["skipped"] for name, s in stages.stages if name == "evaluate"] == [False, True]
    listing = invoke("runs", "--root", str(home / "runs"))
    assert listing.exit_code == 0 and "ev" in listing.stdout and "evaluated" in listing.stdout


def test_eval_of_a_run_directory_uses_its_trained_model_and_questions(finished_run: Path) -> None:
    result = invoke(
        "eval", "--model", str(finished_run), "--run-dir", str(finished_run.parent / "ev")
    )
    assert result.exit_code == 0, result.output
    trained = json.loads((finished_run / "metrics.json").read_text())["trained"]
    saved = json.loads((finished_run.parent / "ev" / "evaluation" / "run.json").read_text())
    assert saved["metrics"] == trained  # same model, same evaluators, same questions
    assert "the questions of run" in _manifest(finished_run.parent / "ev")["eval_set"]["label"]


def test_eval_knowledge_qa_on_an_eval_set_file_shows_n_and_interval(
    kinject_plugins: Plugins, sample_pack: DomainPack, tiny_model: Path, home: Path
) -> None:
    result = invoke(
        "eval",
        "--model",
        str(tiny_model),
        "--eval-set",
        str(sample_pack.eval),
        "--evaluators",
        "knowledge-qa",
    )
    assert result.exit_code == 0, result.output
    line = next(x for x in result.stdout.splitlines() if x.startswith("knowledge-qa.accuracy"))
    assert "(2 questions; 95% interval" in line
    (out,) = (home / "runs").iterdir()
    assert out.name.startswith(f"eval-{tiny_model.name}-")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "no-such-alias"], "unknown model"),
        (["--model", "{tiny}"], "no questions to ask: pass --eval-set FILE or --domain NAME"),
        (
            ["--model", "{tiny}", "--domain", "sample", "--evaluators", "nope"],
            "unknown evaluator 'nope'",
        ),
    ],
)
def test_eval_errors_are_one_line(
    stand_ins: DomainPack, tiny_model: Path, home: Path, args: list[str], message: str
) -> None:
    result = invoke("eval", *[a.replace("{tiny}", str(tiny_model)) for a in args])
    assert message in _error_line(result)


# -- export -------------------------------------------------------------------------------------


def test_export_after_the_fact_records_each_exporter_and_keeps_going(finished_run: Path) -> None:
    result = invoke("export", str(finished_run), "--to", "failing,card")
    assert "disk full" in _error_line(result) and "1 of 2 exports failed" in _error_line(result)
    assert "✓ card" in result.stdout
    exports = _manifest(finished_run)["stages"]["export"]
    assert "disk full" in exports["failing"]["error"]
    assert exports["card"]["paths"] and (finished_run / "export" / "card" / "README.md").is_file()
    assert "card" in (finished_run / "report.md").read_text()


def test_export_of_an_unknown_exporter_lists_the_installed_ones(finished_run: Path) -> None:
    line = _error_line(invoke("export", str(finished_run), "--to", "card,gguff"))
    assert "unknown exporter 'gguff'" in line and "did you mean 'gguf'" in line and "card" in line


def test_export_of_a_run_that_was_only_prepared_says_so(
    stand_ins: DomainPack, tiny_model: Path, home: Path
) -> None:
    assert (
        invoke(
            "prepare", *RUN_FLAGS, "--base-model", str(tiny_model), "--run-dir", str(home / "run")
        ).exit_code
        == 0
    )
    assert "model/result.json is missing" in _error_line(
        invoke("export", str(home / "run"), "--to", "card")
    )


# -- ingest -------------------------------------------------------------------------------------


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_ingest_shows_records_per_file_and_quarantine_and_writes_nothing(
    kinject_plugins: Plugins, user_corpus: Path
) -> None:
    (user_corpus / "weird.xyz123").write_bytes(b"\x00\x01")
    before = _tree(user_corpus)
    result = invoke("ingest", str(user_corpus), "--show", "1", "--quiet")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "harbour-lights.md" in out and "northgate-mills.md" in out
    assert "weird.xyz123" in out and "unsupported_type" in out
    assert len([line for line in out.splitlines() if line.startswith("[document]")]) == 1
    assert _tree(user_corpus) == before


def test_ingest_json_prints_one_record_per_line(
    kinject_plugins: Plugins, user_corpus: Path, tmp_path: Path
) -> None:
    (user_corpus / "empty.md").write_text("", encoding="utf-8")
    result = invoke("ingest", str(user_corpus), "--json", "--run-dir", str(tmp_path / "work"))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert {Path(r["source"]["uri"]).name for r in records} == {
        "harbour-lights.md",
        "northgate-mills.md",
    }
    assert all(r["text"] and r["id"] for r in records)
    assert "empty.md: empty_file" in result.stderr
    kept = (tmp_path / "work" / "ingest.jsonl").read_text().splitlines()
    assert [json.loads(line)["id"] for line in kept] == [r["id"] for r in records]


def test_ingest_of_a_missing_path_is_one_line(kinject_plugins: Plugins, tmp_path: Path) -> None:
    assert "not found" in _error_line(invoke("ingest", str(tmp_path / "nothing-here")))


# -- runs ---------------------------------------------------------------------------------------


def test_runs_lists_prepared_evaluated_and_broken_runs(
    kinject_plugins: Plugins, tmp_path: Path
) -> None:
    for name, manifest in (
        ("prep", {"status": "prepared", "config": {"domain": "legal", "strategy": "sft"}}),
        (
            "ev",
            {
                "status": "evaluated",
                "evaluated_model": {"label": "tiny"},
                "headline": {"knowledge-qa.accuracy": {"value": 0.5}},
            },
        ),
        (
            "done",
            {
                "status": "finished",
                "config": {"strategy": "sft"},
                "headline": {"knowledge-qa.accuracy": {"base": 0.25, "trained": 0.5}},
            },
        ),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json", encoding="utf-8")
    result = invoke("runs", "--root", str(tmp_path))
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "prepared" in out and "eval of tiny" in out and "50.0%" in out and "25.0%→50.0%" in out
    assert "unreadable" in out


def test_a_run_reports_its_split_and_export_stages(
    stages: StageRecorder, finished_run: Path
) -> None:
    names = [name for name, _ in stages.stages]
    assert names.index("split") < names.index("train") < names.index("export")
    # not overwritten by the training's stats
    assert _manifest(finished_run)["stages"]["split"]["records"] > 0


def test_runs_shows_the_question_count_and_the_paired_test(
    kinject_plugins: Plugins, tmp_path: Path
) -> None:
    from kinject.scoring import headline

    metrics = {
        "base": {"knowledge-qa.accuracy": 0.25, "knowledge-qa.n": 40.0},
        "trained": {"knowledge-qa.accuracy": 0.3, "knowledge-qa.n": 40.0},
        "paired": {
            "knowledge-qa": {"n": 40, "base_only": 3, "trained_only": 5, "p_value": 0.7265625}
        },
    }
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "manifest.json").write_text(
        json.dumps({"status": "finished", "headline": headline(metrics)})
    )
    result = invoke("runs", "--root", str(tmp_path))
    assert "25.0%→30.0% (n=40, within noise (p = 0.73))" in " ".join(result.stdout.split())
