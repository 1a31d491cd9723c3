"""What a run prints: library output captured into <run_dir>/logs/, live bars on a terminal only."""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from kinject import hookimpl
from kinject.components import Evaluator
from kinject.console import library_output, verbose
from kinject.context import RunContext
from kinject.domains import DomainPack
from kinject.evaluation import EvalItem, EvalModel

NOISE = ("{'loss'", "Loading weights", "Warning")


class NoisyEvaluator(Evaluator):
    """Makes the kinds of noise transformers and TRL make: a warning, a log record, a tqdm bar."""

    name = "noisy"

    def evaluate(
        self, model: EvalModel, items: Sequence[EvalItem], context: RunContext
    ) -> dict[str, Any]:
        from transformers.utils import logging as hf_logging

        warnings.warn("`foo` is deprecated and will be removed", FutureWarning, stacklevel=1)
        logging.getLogger("transformers.modeling_utils").warning("past_key_values are deprecated")
        for _ in hf_logging.tqdm(range(3), desc="Loading weights"):
            pass
        return {"score": 1.0}


class _Noisy:
    @hookimpl
    def register_evaluators(self, register: Callable[..., Any]) -> None:
        register(NoisyEvaluator)


@pytest.fixture
def noisy_pack(registered_pack: DomainPack, register_plugin: Callable[..., Any]) -> DomainPack:
    register_plugin(_Noisy(), name="noisy")
    return registered_pack


def run_args(tiny_model: Path, run_dir: Path, *extra: str) -> list[str]:
    """A real sft run on the tiny model, two steps, with the noisy evaluator."""
    return [
        "--domain",
        "sample",
        "-m",
        str(tiny_model),
        "--run-dir",
        str(run_dir),
        "--set",
        "trainer.max_steps=2",
        "--set",
        "trainer.logging_steps=1",
        "--set",
        "trainer.report_to=[]",
        "--set",
        "evaluators=[noisy]",
        "--set",
        "forgetting=false",
        "--set",
        "exporters=[]",
        *extra,
    ]


def invoke(args: list[str]) -> Any:
    from kinject.cli import main

    class Main:
        name = "inject"

        def main(self, args: list[str], **_: Any) -> None:
            main(args)

    return CliRunner().invoke(Main(), args, catch_exceptions=False)  # type: ignore[arg-type]


def test_quiet_run_prints_only_the_summary(
    noisy_pack: DomainPack, tiny_model: Path, tmp_path: Path
) -> None:
    result = invoke(run_args(tiny_model, tmp_path / "run", "-q"))
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if any(n in line for n in NOISE)], (
        result.output
    )
    assert result.stderr == ""
    assert result.stdout.splitlines()[-1].startswith("Report: ")
    captured = (tmp_path / "run" / "logs" / "libraries.log").read_text(encoding="utf-8")
    assert "FutureWarning: `foo` is deprecated" in captured
    assert "transformers.modeling_utils: past_key_values are deprecated" in captured
    training = (tmp_path / "run" / "logs" / "training.log").read_text(encoding="utf-8")
    assert '"step": 2' in training and '"loss"' in training


def test_default_run_in_a_pipe_prints_stage_lines_only(
    noisy_pack: DomainPack, tiny_model: Path, tmp_path: Path
) -> None:
    result = invoke(run_args(tiny_model, tmp_path / "run"))
    assert result.exit_code == 0, result.output
    lines = result.stderr.splitlines()
    assert lines[0].startswith("Run directory: ")
    assert all(line.startswith(("✓", "·")) for line in lines[1:]), result.stderr
    assert any(line.startswith("✓ evaluate") for line in lines)
    assert "\x1b" not in result.output and "━" not in result.output


def test_verbose_shows_the_raw_library_output(
    noisy_pack: DomainPack, tiny_model: Path, tmp_path: Path
) -> None:
    # shown the way Python shows warnings
    with pytest.warns(FutureWarning, match="`foo` is deprecated"):
        result = invoke(run_args(tiny_model, tmp_path / "run", "-v"))
    assert result.exit_code == 0, result.output
    assert "{'loss'" in result.stdout  # transformers' own printer, as without kinject
    assert "Loading weights" in result.stderr
    assert "FutureWarning" in (tmp_path / "run" / "logs" / "libraries.log").read_text(
        encoding="utf-8"
    )


def test_quiet_and_verbose_together_is_a_one_line_error(
    noisy_pack: DomainPack, tiny_model: Path, tmp_path: Path
) -> None:
    result = invoke(run_args(tiny_model, tmp_path / "run", "-q", "-v"))
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "Error: command line: --quiet and --verbose exclude each other; pass one of them"
    ]


def test_inject_quiet_in_a_subprocess_prints_no_library_noise(
    sample_pack: DomainPack, tiny_model: Path, tmp_path: Path
) -> None:
    """The real script: transformers' handler, TRL's warnings and HF bars write to the real
    stderr.
    """
    assert sample_pack.corpus is not None and sample_pack.eval is not None
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(
        f"corpus: [{sample_pack.corpus}]\neval_set: {sample_pack.eval}\ncleaners: [normalize]\n"
        "augmenters: []\nevaluators: [knowledge-qa]\nexporters: []\n"
        "trainer: {max_steps: 2, logging_steps: 1, report_to: []}\n",
        encoding="utf-8",
    )
    run_dir = tmp_path / "run"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kinject",
            "--config",
            str(recipe),
            "-m",
            str(tiny_model),
            "--run-dir",
            str(run_dir),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=_env(),
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    printed = (proc.stdout + proc.stderr).splitlines()
    assert not [line for line in printed if any(n in line for n in NOISE)], printed
    assert proc.stderr == ""
    captured = (run_dir / "logs" / "libraries.log").read_text(encoding="utf-8")
    assert len(captured.splitlines()) > 1  # more than the header: what the libraries said


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "KINJECT_LOAD_PLUGINS": ""}


# -- library_output on its own ------------------------------------------------------------------


def test_library_output_routes_and_restores(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from transformers.utils import logging as hf_logging

    before = list(logging.getLogger("transformers").handlers)
    with library_output(tmp_path) as mode:
        assert not verbose() and mode.log_dir == tmp_path / "logs"
        logging.getLogger("transformers").warning("a transformers warning")
        logging.getLogger("trl.trainer").warning("a trl warning")
        warnings.warn("a future warning", FutureWarning, stacklevel=1)
        logging.getLogger("kinject.pipeline").warning("a kinject warning")
        assert not hf_logging.is_progress_bar_enabled()
    out, err = capfd.readouterr()
    assert "a kinject warning" in err
    assert not any(
        word in out + err for word in ("transformers warning", "trl warning", "future warning")
    )
    captured = (tmp_path / "logs" / "libraries.log").read_text(encoding="utf-8")
    for text in ("a transformers warning", "a trl warning", "FutureWarning: a future warning"):
        assert text in captured
    assert "a kinject warning" in (tmp_path / "logs" / "kinject.log").read_text(encoding="utf-8")
    assert logging.getLogger("transformers").handlers == before
    assert hf_logging.is_progress_bar_enabled()


def test_quiet_keeps_kinject_warnings_in_the_file(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with library_output(tmp_path, quiet=True):
        logging.getLogger("kinject_plugins.trainers.sft").warning("cut tokens")
    assert "cut tokens" not in capfd.readouterr().err
    assert "cut tokens" in (tmp_path / "logs" / "kinject.log").read_text(encoding="utf-8")


def test_verbose_tees_library_logs(tmp_path: Path) -> None:
    from transformers.utils import logging as hf_logging

    hf_logging.get_verbosity()  # transformers attaches its own stderr handler on first use
    own = list(logging.getLogger("transformers").handlers)
    # transformers keeps its records to itself, except with CI=true in the environment, when they
    # propagate to the root logger (which gets the copy to the log file then)
    added = 0 if logging.getLogger("transformers").propagate else 1
    with library_output(tmp_path, verbose=True):
        assert verbose() and hf_logging.is_progress_bar_enabled()
        during = logging.getLogger("transformers").handlers
        # its terminal handler stays
        assert during[: len(own)] == own and len(during) == len(own) + added
        logging.getLogger("transformers").warning("shown and kept")
    assert logging.getLogger("transformers").handlers == own
    assert "shown and kept" in (tmp_path / "logs" / "libraries.log").read_text(encoding="utf-8")


# -- live bars: on a terminal only --------------------------------------------------------------


@pytest.fixture
def fake_terminal(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """stderr as a terminal: rich draws into the returned buffer."""
    from rich.console import Console

    from kinject import progress

    buffer = io.StringIO()
    monkeypatch.setattr(
        progress, "terminal", lambda: Console(file=buffer, force_terminal=True, width=120)
    )
    yield buffer


def test_track_draws_on_a_terminal(fake_terminal: io.StringIO) -> None:
    from kinject.progress import track

    assert list(track([1, 2, 3], "cleaning")) == [1, 2, 3]
    assert "cleaning" in fake_terminal.getvalue() and "3/3" in fake_terminal.getvalue()


def test_track_draws_nothing_in_a_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    from kinject.progress import StageDisplay, track

    display = StageDisplay()
    display.start("cleaners")
    assert list(track(range(4), "cleaning")) == [0, 1, 2, 3]
    display.stop()
    assert capsys.readouterr() == ("", "")


def test_bars_of_a_stage_share_its_display(fake_terminal: io.StringIO) -> None:
    from kinject.progress import StageDisplay, live_bar, track

    display = StageDisplay()
    display.start("evaluate")
    with live_bar("base · knowledge-qa", total=40, info="40 questions") as bar:
        bar.finish()  # a second live display would raise rich's LiveError here
    list(track(range(2), "scoring"))
    display.stop()
    drawn = fake_terminal.getvalue()
    assert (
        "evaluate" in drawn
        and "base · knowledge-qa" in drawn
        and "40/40" in drawn
        and "2/2" in drawn
    )


def test_inner_bars_draw_only_inside_a_display_already_up(fake_terminal: io.StringIO) -> None:
    from kinject import progress

    # no display: -q, a pipe, or library code run alone
    with progress.inner_bar("scoring", total=3) as bar:
        bar.advance(3)
    assert fake_terminal.getvalue() == ""
    display = progress.StageDisplay()
    display.start("evaluate")
    with progress.inner_bar("scoring", total=3) as bar:
        bar.advance(2)
        progress._live[-1].refresh()
    display.stop()
    assert "scoring" in fake_terminal.getvalue() and "2/3" in fake_terminal.getvalue()


def test_scoring_counts_its_continuations(
    tiny_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinject import progress
    from kinject.models import load_causal_lm
    from kinject_plugins.evaluators import loglik

    advanced: list[float] = []

    class Counting(progress.Bar):
        def advance(self, steps: float = 1.0) -> None:
            advanced.append(steps)

    @contextlib.contextmanager
    def counting_bar(description: str, total: float | None = None) -> Iterator[progress.Bar]:
        yield Counting()

    monkeypatch.setattr(loglik, "inner_bar", counting_bar)
    model, tokenizer = load_causal_lm(tiny_model)
    pairs = [(f"Question: q{i}\nAnswer:", f" a{i}") for i in range(5)]
    assert len(loglik.score_continuations(model, tokenizer, pairs, batch_size=2)) == 5
    assert sum(advanced) == 5


def test_verbose_draws_no_bars(
    fake_terminal: io.StringIO, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kinject import progress

    monkeypatch.undo()  # the real terminal() check, which honours verbose first
    with library_output(tmp_path, verbose=True):
        assert progress.terminal() is None


def test_format_duration() -> None:
    from kinject.progress import format_duration

    assert format_duration(75.4) == "1:15"
    assert format_duration(3725) == "1:02:05"
    assert format_duration(None) == ""


def test_compare_captures_library_output_too(
    noisy_pack: DomainPack, stand_ins: DomainPack, tiny_model: Path, tmp_path: Path
) -> None:
    root = tmp_path / "cmp"
    result = invoke(
        [
            "compare",
            "--domain",
            "sample",
            "--strategies",
            "copy",
            "-m",
            str(tiny_model),
            "--run-dir",
            str(root),
            "--set",
            "evaluators=[noisy]",
            "--set",
            "forgetting=false",
            "--set",
            "exporters=[]",
            "-q",
        ]
    )
    assert result.exit_code == 0, result.output
    assert not [line for line in result.output.splitlines() if any(n in line for n in NOISE)], (
        result.output
    )
    assert result.stderr == ""
    assert "FutureWarning: `foo` is deprecated" in (root / "logs" / "libraries.log").read_text(
        encoding="utf-8"
    )
