"""``inject compare`` on stand-in strategies, and its HTML report rendered in headless Chromium."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kinject.compare import run_compare
from kinject.components import Trainer, TrainJob, TrainResult
from kinject.domains import DomainPack
from kinject.errors import ConfigError
from kinject.pipeline import resolve_config
from kinject.plugins import Plugins


def _compare(
    plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    strategies: list[str],
    real_evaluators: bool = False,
    **extra: object,
) -> Path:
    evaluators = ["knowledge-qa"] if real_evaluators else ["count-params"]
    overrides = {
        "base_model": str(tiny_model),
        "evaluators": evaluators,
        "exporters": [],
        "augmenters": [],
        "cleaners": ["normalize"],
        "run_dir": str(tmp_path / "cmp"),
        "strategy": strategies[0],
        "forgetting": real_evaluators,
        **extra,
    }
    config, pack = resolve_config(plugins, "sample", None, overrides)
    return run_compare(config, plugins, pack, strategies, show_progress=False).root


def test_compare_prepares_data_once_and_writes_reports(
    train_calls: list[str], kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    root = _compare(kinject_plugins, tmp_path, tiny_model, ["copy", "shrink"])
    rows = json.loads((root / "compare.json").read_text())
    assert set(rows) == {"copy", "shrink"}
    assert (
        rows["copy"]["trained"]["count-params.n_params"]
        == rows["shrink"]["trained"]["count-params.n_params"]
    )
    sizes = [int(c.split(":")[1]) for c in train_calls]
    assert len(sizes) == 2 and sizes[0] == sizes[1] > 0  # the same prepared data for both
    assert (root / "data" / "train.jsonl").exists()
    assert not (root / "copy" / "data").exists()
    assert (root / "evaluation" / "base.json").exists()
    md = (root / "compare.md").read_text()
    assert "| copy |" in md and "| shrink |" in md and "base (no training)" in md
    assert (root / "copy" / "report.md").exists()


def test_every_strategy_is_scored_on_the_questions_built_once_from_the_corpus(
    stand_ins: DomainPack,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    user_corpus: Path,
) -> None:
    root = _compare(
        kinject_plugins, tmp_path, tiny_model, ["copy", "shrink"], corpus=[str(user_corpus)]
    )
    built = (root / "eval_set.jsonl").read_text(encoding="utf-8").splitlines()
    assert (
        built and json.loads((root / "manifest.json").read_text())["eval_set"]["origin"] == "corpus"
    )
    for name in ("copy", "shrink"):
        metrics = json.loads((root / name / "metrics.json").read_text())
        assert metrics["trained"]["count-params.items"] == len(built)
        assert metrics["eval_set"]["origin"] == "corpus"


def test_unknown_strategy_fails_before_any_work(
    stand_ins: DomainPack, kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    with pytest.raises(ConfigError, match="unknown trainer 'nope'"):
        _compare(kinject_plugins, tmp_path, tiny_model, ["copy", "nope"])
    assert not (tmp_path / "cmp" / "data").exists()


def test_each_strategy_is_handed_the_results_trained_before_it(
    stand_ins: DomainPack,
    kinject_plugins: Plugins,
    tmp_path: Path,
    tiny_model: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    shrink = type(kinject_plugins.create("trainer", "shrink", {}))
    seen: dict[str, dict[str, TrainResult]] = {}
    real = shrink.train

    def recording(self: Trainer, job: TrainJob) -> TrainResult:
        seen[self.name] = dict(job.prior)
        return real(self, job)

    monkeypatch.setattr(shrink, "train", recording)
    root = _compare(kinject_plugins, tmp_path, tiny_model, ["copy", "shrink"])
    assert list(seen["shrink"]) == ["copy"]
    assert seen["shrink"]["copy"].model_dir == root / "copy" / "model" / "final"
    # again, with copy's training found finished and shrink's to do: the loaded result is handed
    # over
    seen.clear()
    (root / "shrink" / "model" / "result.json").unlink()
    _compare(kinject_plugins, tmp_path, tiny_model, ["copy", "shrink"])
    assert seen["shrink"]["copy"].model_dir == root / "copy" / "model" / "final"


def _row(accuracy: float, p_value: float, law_n: int = 8, tax_n: int = 3) -> dict[str, object]:
    """One strategy's metrics.json: 40 questions in two categories, retention on 100, a paired
    test.
    """
    trained = {
        "knowledge-qa.accuracy": accuracy,
        "knowledge-qa.n": 40.0,
        "retention.accuracy": 0.6,
        "retention.n": 100.0,
        "knowledge-qa.per_category.law.accuracy": 0.5,
        "knowledge-qa.per_category.law.n": float(law_n),
        "knowledge-qa.per_category.tax.accuracy": 2 / 3,
        "knowledge-qa.per_category.tax.n": float(tax_n),
    }
    base = {**trained, "knowledge-qa.accuracy": 0.25, "retention.accuracy": 0.62}
    return {
        "base": base,
        "trained": trained,
        "delta": {k: trained[k] - base[k] for k in trained},
        "paired": {
            "knowledge-qa": {"n": 40, "p_value": p_value},
            "retention": {"n": 100, "p_value": 0.5},
        },
    }


def test_compare_table_carries_intervals_counts_and_the_test_against_the_base() -> None:
    from kinject.compare_report import charts, render_markdown
    from kinject.config import RunConfig

    rows = {"sft": _row(0.5, 0.004), "rag": _row(0.3, 0.41)}
    md = render_markdown(rows, RunConfig(domain="legal"))
    assert "| sft | 50.0% (35–65%) | +25.0 pts, p = 0.004 |" in md
    assert "| rag | 30.0% (18–45%) | +5.0 pts, within noise (p = 0.41) |" in md
    assert "| base (no training) | 25.0% (14–40%) |" in md
    # forgetting, tested on the retention questions
    assert "+2.0 pts, within noise (p = 0.50)" in md
    assert "knowledge accuracy on 40 questions, retention on 100 questions" in md
    page = charts(rows)
    assert ">law<" in page and ">tax<" not in page, "a category of 3 questions is not a bar"
    assert "Not charted, fewer than 5 questions" in page and "tax: sft 2/3, rag 2/3" in page


def _chromium() -> str | None:
    return (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or shutil.which("google-chrome")
    )


CHROME_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.mark.skipif(_chromium() is None, reason="needs chromium (apt-get install chromium)")
def test_compare_html_renders_in_chromium(
    train_calls: list[str], kinject_plugins: Plugins, tmp_path: Path, tiny_model: Path
) -> None:
    from PIL import Image

    root = _compare(kinject_plugins, tmp_path, tiny_model, ["copy", "shrink"], real_evaluators=True)
    rows = json.loads((root / "compare.json").read_text())
    assert (
        "knowledge-qa.accuracy" in rows["copy"]["trained"]
        and "retention.accuracy" in rows["shrink"]["trained"]
    )
    page = (root / "compare.html").resolve().as_uri()
    chrome = _chromium()
    assert chrome is not None
    profile = ["--user-data-dir=" + str(tmp_path / "profile")]
    dom = subprocess.run(
        [chrome, *CHROME_FLAGS, *profile, "--dump-dom", page],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "<table>" in dom.stdout and "shrink" in dom.stdout
    assert dom.stdout.count("<svg") >= 2, (
        "accuracy-vs-retention and accuracy-vs-time plots expected"
    )
    assert "p = " in dom.stdout and "95% interval" in dom.stdout
    assert "Not charted, fewer than 5 questions" in dom.stdout, (
        "the two sample questions are not a percentage bar"
    )
    shot = tmp_path / "compare.png"
    subprocess.run(
        [chrome, *CHROME_FLAGS, *profile, f"--screenshot={shot}", "--window-size=1200,900", page],
        capture_output=True,
        timeout=120,
        check=False,
    )
    image = Image.open(shot).convert("L")
    extrema = image.getextrema()
    assert extrema[0] < 100 < extrema[1], "page rendered blank"
    dark = sum(1 for v in image.getdata() if v < 128)
    assert dark > 2000, "too little drawn: table text and borders expected"
