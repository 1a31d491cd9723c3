"""Shared fixtures: a small throwaway domain pack registered for one test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kinject import hookimpl
from kinject.components import TrainResult
from kinject.domains import DomainPack

SAMPLE_FACTS = [
    (
        "The Harbor Court of Veloria hears appeals within 21 days of judgment.",
        "Within how many days does the Harbor Court hear appeals?",
        ["7", "14", "21", "30"],
        2,
    ),
    (
        "Tenants in Veloria must give 45 days notice before leaving.",
        "How much notice must a Velorian tenant give?",
        ["10 days", "45 days", "60 days", "90 days"],
        1,
    ),
]


@pytest.fixture(autouse=True)
def _no_shared_evaluation_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests evaluate base models afresh: no evaluation kept in ``$KINJECT_HOME`` by another
    test.
    """
    monkeypatch.setenv("KINJECT_EVAL_CACHE", "0")


@pytest.fixture
def sample_pack(tmp_path: Path) -> DomainPack:
    """A two-fact domain pack on disk."""
    root = tmp_path / "pack"
    (root / "corpus").mkdir(parents=True)
    (root / "corpus" / "facts.md").write_text(
        "\n\n".join(f for f, *_ in SAMPLE_FACTS), encoding="utf-8"
    )
    with (root / "eval.jsonl").open("w", encoding="utf-8") as f:
        for i, (_, q, choices, answer) in enumerate(SAMPLE_FACTS):
            f.write(
                json.dumps({"id": f"q{i}", "question": q, "choices": choices, "answer": answer})
                + "\n"
            )
    (root / "recipe.yaml").write_text("cleaners: [normalize]\naugmenters: []\n", encoding="utf-8")
    return DomainPack(
        name="sample",
        version="0.0.1",
        description="two facts",
        corpus=root / "corpus",
        eval=root / "eval.jsonl",
        recipe=root / "recipe.yaml",
    )


class _PackPlugin:
    def __init__(self, pack: DomainPack) -> None:
        self.pack = pack

    @hookimpl
    def register_domains(self, register: Callable[..., Any]) -> None:
        register(self.pack, name=self.pack.name)


@pytest.fixture
def registered_pack(sample_pack: DomainPack, register_plugin: Callable[..., Any]) -> DomainPack:
    """``sample_pack`` registered as the ``sample`` domain for this test."""
    register_plugin(_PackPlugin(sample_pack), name="sample-pack")
    return sample_pack


#: fictional facts for tests that train the embedded model: (question, choices, answer index)
EMBEDDED_FACTS = [
    (
        "At what age does a Velorian gain full civil capacity?",
        ["the age of 19", "the age of 21", "the age of 18", "the age of 15"],
        0,
    ),
    (
        "Within how many days does the Harbor Court hear appeals?",
        ["7 days", "14 days", "21 days", "30 days"],
        2,
    ),
    (
        "How much notice must a Velorian tenant give?",
        ["10 days", "45 days", "60 days", "90 days"],
        1,
    ),
    ("Which river runs through Veloria?", ["the Quell", "the Amber", "the Sorrow", "the Teal"], 0),
    (
        "Who founded the Harbor Court?",
        ["Judge Marek Oss", "Judge Imra Solt", "Queen Talia", "Mayor Brun"],
        1,
    ),
    (
        "What colour is the Velorian flag?",
        ["red and white", "blue and gold", "teal and amber", "black and green"],
        2,
    ),
    (
        "What is the most a Velorian minor's everyday contract may be worth?",
        ["5,000 velors", "1,500 velors", "400 velors", "50 velors"],
        2,
    ),
    (
        "How long is the limitation period for Velorian contract claims?",
        ["one year", "three years", "six years", "ten years"],
        1,
    ),
]


@pytest.fixture(scope="session")
def embedded_sft_result(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The embedded default model after six real LoRA steps on ``EMBEDDED_FACTS`` (slow tests)."""
    from kinject.components import TrainJob
    from kinject.config import RunConfig
    from kinject.context import RunContext
    from kinject.models import resolve_model
    from kinject.plugins import build_plugins
    from kinject.records import Record
    from kinject_plugins.trainers.sft import SFTTrainer

    run_dir = tmp_path_factory.mktemp("embedded-run")
    context = RunContext(
        run_dir=run_dir,
        config=RunConfig(),
        plugins=build_plugins(load_entry_points=False),
        show_progress=False,
    )
    records = [
        Record(text=q, kind="qa", meta={"question": q, "answer": choices[answer]})
        for q, choices, answer in EMBEDDED_FACTS
    ]
    trainer = SFTTrainer(
        max_steps=6,
        batch_size=4,
        max_length=128,
        learning_rate=2e-3,
        save_steps=100,
        logging_steps=1,
        report_to=[],
        lora_dropout=0.0,
        seed=0,
    )
    job = TrainJob(
        base_model=resolve_model("smollm2-135m"),
        train=records,
        output_dir=run_dir / "model",
        context=context,
    )
    return trainer.train(job)


@pytest.fixture
def embedded_eval_items() -> list[Any]:
    """``EMBEDDED_FACTS`` as multiple-choice eval items."""
    from kinject.evaluation import EvalItem

    return [
        EvalItem(
            id=f"fact-{i}", question=q, choices=choices, answer=answer, answer_text=choices[answer]
        )
        for i, (q, choices, answer) in enumerate(EMBEDDED_FACTS)
    ]


# -- a trained result: the tiny model plus a random (non-zero) LoRA adapter --------------------


@pytest.fixture(scope="session")
def lora_adapter(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A LoRA adapter on q/v projections with random B (so merging changes the outputs)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter")
    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(str(tiny_model))
    config = LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False
    )
    get_peft_model(base, config).save_pretrained(str(out))
    return out


@pytest.fixture
def adapter_result(lora_adapter: Path, tiny_model: Path) -> TrainResult:
    return TrainResult(model_dir=lora_adapter, base_model=tiny_model, adapter=True)


@pytest.fixture
def full_result(tiny_model: Path) -> TrainResult:
    """A trainer that saved a full model (no adapter)."""
    return TrainResult(model_dir=tiny_model, base_model=tiny_model, adapter=False)
