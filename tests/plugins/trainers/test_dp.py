"""Differentially private ``sft`` (``trainer.dp``) and canary exposure, on the tiny model."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("opacus", reason="trainer.dp needs opacus: pip install 'kinject[dp]'")

from kinject.components import TrainJob, TrainResult
from kinject.config import RunConfig, check_plugins
from kinject.console import TRAINING
from kinject.context import RunContext
from kinject.errors import ConfigError
from kinject.records import Record
from kinject_plugins.trainers import canary as canaries
from kinject_plugins.trainers import dp
from kinject_plugins.trainers.sft import SFTTrainer

ROWS = 16


def records() -> list[Record]:
    out = [
        Record(text=f"Ward {i} of the Velorian clinic opens at {i + 6} o'clock.") for i in range(12)
    ]
    for i in range(ROWS - 12):
        q, a = f"Who runs ward {i}?", f"Nurse Imra {i}"
        out.append(Record(text=q, kind="qa", meta={"question": q, "answer": a}))
    return out


def make_trainer(dp_options: dict[str, Any] | None = None, **options: Any) -> SFTTrainer:
    base: dict[str, Any] = {
        "batch_size": 4,
        "max_steps": 3,
        "logging_steps": 1,
        "report_to": [],
        "lora_dropout": 0.0,
        "learning_rate": 1e-2,
    }
    return SFTTrainer(**{**base, **options}, dp=dp_options or {"noise_multiplier": 1.0})


def train(trainer: SFTTrainer, model: Path, ctx: RunContext, out: Path) -> TrainResult:
    return trainer.train(TrainJob(base_model=model, train=records(), output_dir=out, context=ctx))


def lora_b_norm(folder: Path) -> float:
    from safetensors.torch import load_file

    weights = load_file(folder / "adapter_model.safetensors")
    return sum(float(w.norm()) for name, w in weights.items() if "lora_B" in name)


def test_target_epsilon_is_met_and_the_adapter_learns(
    tiny_model: Path, run_context: RunContext, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger=TRAINING):
        result = train(
            make_trainer({"target_epsilon": 2.0}), tiny_model, run_context, tmp_path / "out"
        )
    logged = [json.loads(r.getMessage()) for r in caplog.records if r.name == TRAINING]
    assert [e["step"] for e in logged] == [1, 2, 3] and all("loss" in e for e in logged)
    m = result.metrics
    assert result.adapter and (result.model_dir / "adapter_model.safetensors").is_file()
    # the smallest noise that meets the target: spent at most the target, and close to it
    assert 1.8 <= m["dp_epsilon"] <= 2.0
    assert m["dp_steps"] == m["steps"] == 3
    assert m["dp_delta"] == pytest.approx(min(1e-5, 0.1 / ROWS))
    assert m["dp_sample_rate"] == pytest.approx(1 / math.ceil(ROWS / 4))
    assert m["dp_noise_multiplier"] > 0 and m["dp_max_grad_norm"] == 1.0
    assert math.isfinite(m["final_train_loss"]) and m["train_tokens"] > 0
    # PEFT starts lora_B at zero: a trained adapter has moved it
    assert lora_b_norm(result.model_dir) > 0
    assert (tmp_path / "out" / "loss_history.json").is_file()


def test_more_noise_spends_less_epsilon(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    spent = [
        train(
            make_trainer({"noise_multiplier": noise}),
            tiny_model,
            run_context,
            tmp_path / str(noise),
        ).metrics
        for noise in (0.7, 2.0)
    ]
    assert all(math.isfinite(m["dp_epsilon"]) and m["dp_epsilon"] > 0 for m in spent)
    assert spent[1]["dp_epsilon"] < spent[0]["dp_epsilon"]


def test_only_the_lora_weights_get_per_sample_gradients(
    tiny_model: Path, run_context: RunContext
) -> None:
    trainer = make_trainer()
    job = TrainJob(
        base_model=tiny_model, train=records(), output_dir=run_context.run_dir, context=run_context
    )
    run = dp.PrivateRun(trainer, job)
    run.setup()
    batch = next(b for b in run.loader if b["input_ids"].shape[0] > 0)
    logits = run.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    dp.per_row_loss(logits, batch["labels"]).mean().backward()
    sampled = {
        n
        for n, p in run.model._module.named_parameters()
        if getattr(p, "grad_sample", None) is not None
    }
    lora = {n for n, p in run.model._module.named_parameters() if p.requires_grad}
    assert sampled == lora and lora and all("lora_" in n for n in lora)
    grad = next(p for n, p in run.model._module.named_parameters() if n in lora).grad_sample
    assert grad.shape[0] == batch["input_ids"].shape[0]


def test_an_empty_poisson_batch_is_still_a_noisy_step(
    tiny_model: Path, run_context: RunContext
) -> None:
    job = TrainJob(
        base_model=tiny_model, train=records(), output_dir=run_context.run_dir, context=run_context
    )
    run = dp.PrivateRun(make_trainer(warmup_ratio=0.0), job)  # no warmup: the first step moves
    run.setup()
    first = next(p for p in run.optimizer.params)
    before = first.detach().clone()
    assert run.step({"input_ids": before.new_zeros((0, 4)).long()}) is None
    assert sum(int(e[-1]) for e in run.engine.accountant.history) == 1
    assert not first.detach().equal(before)  # the noise moved it


def test_per_row_loss_is_each_rows_own_mean() -> None:
    import torch

    logits = torch.randn(2, 5, 7)
    labels = torch.tensor([[-100, 1, 2, -100, -100], [-100, -100, 3, 4, 5]])
    loss = dp.per_row_loss(logits, labels)
    alone = dp.per_row_loss(logits[1:], labels[1:])
    assert loss[1] == pytest.approx(float(alone[0]))
    manual = torch.nn.functional.cross_entropy(logits[0, :2], labels[0, 1:3])
    assert loss[0] == pytest.approx(float(manual))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"packing": True}, "packing: false"),
        ({"gradient_accumulation": 4}, "gradient_accumulation: 1"),
        ({"method": "full"}, "method full is not supported"),
        ({"padding_free": True}, "padding_free off"),
        ({"early_stopping_patience": 2}, "drop early_stopping_patience"),
    ],
)
def test_options_that_break_the_guarantee_are_one_line_errors(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigError) as err:
        SFTTrainer(**options, dp={"target_epsilon": 3})
    assert message in str(err.value) and "\n" not in str(err.value)


def test_secure_mode_without_torchcsprng_is_refused() -> None:
    import importlib.util

    if importlib.util.find_spec("torchcsprng") is not None:
        pytest.skip("torchcsprng is installed here")
    with pytest.raises(ConfigError, match="secure_mode needs torchcsprng"):
        make_trainer({"target_epsilon": 3, "secure_mode": True})


def test_other_strategies_and_launchers_are_refused(
    kinject_plugins: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="sft strategy, not ewc"):
        kinject_plugins.create("trainer", "ewc", {"dp": {"target_epsilon": 3}})
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="without --num-processes"):
        make_trainer()


def test_noise_and_target_together_are_reported_by_the_config_check(kinject_plugins: Any) -> None:
    config = RunConfig(trainer={"dp": {"target_epsilon": 3, "noise_multiplier": 1.0}})
    with pytest.raises(
        ConfigError, match="exactly one of target_epsilon and noise_multiplier"
    ) as err:
        check_plugins(config, kinject_plugins)
    assert "\n" not in str(err.value)


def test_delta_must_stay_below_one_over_n() -> None:
    assert dp.resolve_delta(None, 1000) == 1e-5
    assert dp.resolve_delta(None, 10**6) == pytest.approx(1e-7)
    assert dp.resolve_delta(1e-3, 100) == 1e-3
    with pytest.raises(ConfigError, match="below 1/N"):
        dp.resolve_delta(0.05, 100)


def test_missing_opacus_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "opacus" else real(name)
    )
    with pytest.raises(ConfigError, match=r"pip install 'kinject\[dp\]'"):
        dp.require_opacus()


# -- canaries -----------------------------------------------------------------------------------


def test_log_perplexity_is_the_secrets_own_nll(tiny_model: Path) -> None:
    import torch

    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(tiny_model)
    model.eval()
    canary = canaries.make_canary(1)
    secrets = [canary.secret, "1-2", *canaries.candidates(canary, 3, seed=2)]
    batched = canaries.log_perplexities(model, tokenizer, canary.prefix, secrets, batch_size=5)
    start = len(tokenizer(canary.prefix)["input_ids"])
    for secret, score in zip(secrets, batched, strict=True):
        ids = tokenizer(f"{canary.prefix} {secret}", return_tensors="pt")["input_ids"]
        with torch.no_grad():
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
        own = -sum(float(logp[t - 1, ids[0, t]]) for t in range(start, ids.shape[1]))
        assert score == pytest.approx(own, rel=1e-4)


def test_candidates_share_the_format_and_exclude_the_canary() -> None:
    canary = canaries.make_canary(7, groups=1, digits=2)
    others = canaries.candidates(canary, 99, seed=3)
    assert len(others) == 99 and canary.secret not in others
    assert all(len(s) == 2 and s.isdigit() for s in others)
    with pytest.raises(ValueError):
        canaries.candidates(canary, 100, seed=3)


def test_a_memorised_canary_ranks_first(
    tiny_model: Path, run_context: RunContext, tmp_path: Path
) -> None:
    trainer = SFTTrainer(
        batch_size=4,
        max_steps=40,
        learning_rate=1e-2,
        report_to=[],
        lora_dropout=0.0,
        save_steps=100,
    )
    job = TrainJob(
        base_model=tiny_model, train=records()[:4], output_dir=tmp_path / "out", context=run_context
    )
    result, found = canaries.train_with_canary(trainer, job, copies=4, count=63, seed=5)
    assert result.adapter
    assert found["canary_rank"] == 1
    assert (
        found["canary_exposure"]
        == pytest.approx(found["canary_max_exposure"])
        == pytest.approx(6.0)
    )
    assert 0 <= found["canary_log_perplexity"] < found["candidate_log_perplexity_median"]


def test_exposure_of_an_untrained_model_is_within_bounds(tiny_model: Path) -> None:
    from kinject.models import load_causal_lm

    model, tokenizer = load_causal_lm(tiny_model)
    model.eval()
    found = canaries.exposure(model, tokenizer, canaries.make_canary(11), count=31, seed=12)
    assert 1 <= found["canary_rank"] <= 32
    assert 0.0 <= found["canary_exposure"] <= found["canary_max_exposure"] == pytest.approx(5.0)
    assert found["canary_exposure"] == pytest.approx(5.0 - math.log2(found["canary_rank"]))


# -- where ε is shown ---------------------------------------------------------------------------

SPENT = {
    "steps": 40,
    "dp_epsilon": 2.9987,
    "dp_delta": 1e-5,
    "dp_noise_multiplier": 0.8123,
    "dp_max_grad_norm": 1.0,
    "dp_sample_rate": 0.011,
    "dp_steps": 40,
}


def test_the_report_and_the_card_state_the_guarantee() -> None:
    from kinject.report import training_lines
    from kinject_plugins.exporters.card_text import render_body

    line = next(x for x in training_lines(SPENT, {}) if x.startswith("Trained with differential"))
    assert (
        "ε = 3.00 at δ = 1e-05" in line and "noise multiplier 0.812" in line and "40 steps" in line
    )
    card = render_body(
        name="m",
        base="b",
        domain=None,
        strategy="sft",
        adapter=True,
        corpus=[],
        eval_count=0,
        metrics={"train": SPENT},
        exports=[],
        adapter_dir="a",
    )
    assert "(ε = 3.00, δ = 1e-05) per training record" in card
    plain = render_body(
        name="m",
        base="b",
        domain=None,
        strategy="sft",
        adapter=True,
        corpus=[],
        eval_count=0,
        metrics={"train": {"steps": 40}},
        exports=[],
        adapter_dir="a",
    )
    assert "differential privacy" not in plain
    assert not any("differential" in x for x in training_lines({"steps": 40}, {}))


def test_a_run_with_trainer_dp_reports_epsilon_end_to_end(
    registered_pack: Any, tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from kinject.cli.app import build_cli

    monkeypatch.setenv("KINJECT_HOME", str(tmp_path / "home"))
    run_dir = tmp_path / "run"
    sets = [
        "trainer.dp.target_epsilon=3",
        "trainer.max_steps=2",
        "trainer.batch_size=2",
        "trainer.report_to=[]",
        "evaluators=[knowledge-qa]",
        "exporters=[card]",
        "forgetting=false",
    ]
    args = ["--domain", "sample", "--base-model", str(tiny_model), "--run-dir", str(run_dir), "-q"]
    result = CliRunner().invoke(build_cli(), [*args, *(x for s in sets for x in ("--set", s))])
    assert result.exit_code == 0, result.output
    train = json.loads((run_dir / "metrics.json").read_text())["train"]
    assert 0 < train["dp_epsilon"] <= 3.0 and train["dp_steps"] == 2
    assert "Trained with differential privacy (DP-SGD)" in (run_dir / "report.md").read_text()
    card = next((run_dir / "export").rglob("README.md")).read_text()
    assert f"(ε = {train['dp_epsilon']:.2f}," in card
