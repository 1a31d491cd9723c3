"""The training-speed paths of sft: packed sequences and rows, the labelled-positions loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from kinject_plugins.trainers import sft  # noqa: E402
from kinject_plugins.trainers.loss_terms import labelled_positions_loss  # noqa: E402

LENGTHS = (7, 12, 4)


@pytest.fixture(scope="module")
def causal_lm(tiny_model: Path) -> Any:
    from kinject.models import load_causal_lm

    model, _ = load_causal_lm(tiny_model)
    model.config._attn_implementation = "sdpa"
    return model.eval()


def sequences(model: Any) -> list[Any]:
    generator = torch.Generator().manual_seed(0)
    return [torch.randint(3, model.config.vocab_size, (n,), generator=generator) for n in LENGTHS]


def test_packed_forward_equals_each_sequence_alone(causal_lm: Any) -> None:
    """Sequences packed in one row with restarting position ids attend only within themselves.

    transformers builds the block-diagonal mask from ``position_ids`` only without a KV cache
    (``use_cache=False``, as in training).
    """
    seqs = sequences(causal_lm)
    packed = torch.cat(seqs)[None]
    position_ids = torch.cat([torch.arange(len(s)) for s in seqs])[None]
    with torch.no_grad():
        together = causal_lm(input_ids=packed, position_ids=position_ids, use_cache=False).logits[0]
        alone = [causal_lm(input_ids=s[None]).logits[0] for s in seqs]
        unmasked = causal_lm(input_ids=packed, use_cache=False).logits[0]
    torch.testing.assert_close(together, torch.cat(alone), atol=1e-5, rtol=1e-4)
    # without the restarting positions the later sequences see the earlier ones: the test can fail
    assert not torch.allclose(unmasked[LENGTHS[0] :], torch.cat(alone[1:]), atol=1e-3)


def test_padding_free_labels_never_cross_a_boundary(causal_lm: Any) -> None:
    """The first token of each packed sequence is never a target of the one before it."""
    from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

    seqs = sequences(causal_lm)
    batch = DataCollatorForLanguageModeling(pad_token_id=0, padding_free=True)(
        [{"input_ids": s.tolist()} for s in seqs]
    )
    starts = torch.cumsum(torch.tensor((0, *LENGTHS[:-1])), 0)
    assert batch["labels"][0, starts].eq(-100).all()
    loss, count = labelled_positions_loss(causal_lm, batch)
    assert int(count) == sum(LENGTHS) - len(LENGTHS)
    with torch.no_grad():
        alone = [causal_lm(input_ids=s[None], labels=s[None]).loss * (len(s) - 1) for s in seqs]
    torch.testing.assert_close(loss.detach(), sum(alone) / int(count), atol=1e-5, rtol=1e-4)


def padded_batch(model: Any) -> dict[str, Any]:
    """Two rows: a prompt (not trained on) then a completion, right-padded."""
    seqs = sequences(model)[:2]
    width = max(len(s) for s in seqs)
    input_ids = torch.zeros(2, width, dtype=torch.long)
    labels = torch.full((2, width), -100)
    attention_mask = torch.zeros(2, width, dtype=torch.long)
    for row, s in enumerate(seqs):
        input_ids[row, : len(s)] = s
        attention_mask[row, : len(s)] = 1
        labels[row, 3 : len(s)] = s[3:]  # the first three tokens are the prompt
    return {"input_ids": input_ids, "labels": labels, "attention_mask": attention_mask}


def test_labelled_positions_loss_equals_the_full_logits_loss(tiny_model: Path) -> None:
    """Same loss and same gradients as the model's own loss over the full logits."""
    from kinject.models import load_causal_lm

    model, _ = load_causal_lm(tiny_model)
    batch = padded_batch(model)
    full = model(**batch).loss
    full.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad()
    ours, count = labelled_positions_loss(model, batch)
    ours.backward()
    assert int(count) == int(batch["labels"][:, 1:].ne(-100).sum())
    torch.testing.assert_close(ours, full, atol=1e-6, rtol=1e-5)
    for name, grad in expected.items():
        torch.testing.assert_close(
            dict(model.named_parameters())[name].grad, grad, atol=1e-6, rtol=1e-4
        )


def test_labelled_positions_loss_through_a_lora_adapter(tiny_model: Path) -> None:
    from peft import LoraConfig, get_peft_model

    from kinject.models import load_causal_lm

    model, _ = load_causal_lm(tiny_model)
    model = get_peft_model(
        model, LoraConfig(r=4, target_modules="all-linear", task_type="CAUSAL_LM")
    )
    batch = padded_batch(model)
    ours, _ = labelled_positions_loss(model, batch)
    torch.testing.assert_close(ours, model(**batch).loss, atol=1e-6, rtol=1e-5)
    ours.backward()
    assert all(p.grad is not None for n, p in model.named_parameters() if "lora_" in n)


def test_loss_head_auto_is_labelled_on_a_cpu() -> None:
    if torch.cuda.is_available():
        pytest.skip("the auto choice on a GPU is TRL's head")
    assert sft.SFTTrainer().labelled_loss_head()
    assert not sft.SFTTrainer(loss_head="trl").labelled_loss_head()


def test_packed_rows_keep_sequences_apart(causal_lm: Any) -> None:
    """Two packed rows, each of whole sequences: the loss is that of every sequence alone."""
    from kinject_plugins.trainers.packed_rows import PackedRowsCollator

    seqs = sequences(causal_lm)
    rows = [seqs[:2], seqs[2:]]
    examples = [
        {"input_ids": torch.cat(r).tolist(), "seq_lengths": [len(s) for s in r]} for r in rows
    ]
    batch = PackedRowsCollator(pad_token_id=0)(examples)
    assert (
        batch["input_ids"].shape == (2, LENGTHS[0] + LENGTHS[1]) and "attention_mask" not in batch
    )
    assert batch["row_tokens"].tolist() == [LENGTHS[0] + LENGTHS[1], LENGTHS[2]]
    assert batch["labels"][0, [0, LENGTHS[0]]].eq(-100).all()
    loss, count = labelled_positions_loss(causal_lm, batch)
    assert int(count) == sum(LENGTHS) - len(LENGTHS)
    with torch.no_grad():
        alone = [causal_lm(input_ids=s[None], labels=s[None]).loss * (len(s) - 1) for s in seqs]
    torch.testing.assert_close(loss.detach(), sum(alone) / int(count), atol=1e-5, rtol=1e-4)


def test_sft_trains_on_packed_rows(tiny_model: Path, run_context: Any, tmp_path: Path) -> None:
    import math

    from kinject.components import TrainJob
    from kinject.records import Record
    from kinject_plugins.trainers.packed_rows import PackedRowsCollator

    built: list[Any] = []

    class Spy(sft.SFTTrainer):
        def build_trainer(self, *args: Any) -> Any:
            built.append(super().build_trainer(*args))
            return built[-1]

    records = [
        Record(text=f"Clause {i} says the notice period is {i + 10} days.") for i in range(12)
    ]
    trainer = Spy(packing=True, max_steps=2, batch_size=2, max_length=48, report_to=[])
    result = trainer.train(
        TrainJob(base_model=tiny_model, train=records, output_dir=tmp_path, context=run_context)
    )
    assert isinstance(built[0].data_collator, PackedRowsCollator)
    batch = built[0].data_collator([built[0].train_dataset[i] for i in range(2)])
    assert batch["input_ids"].shape[0] == 2 and batch["input_ids"].shape[1] <= 48
    assert result.metrics["steps"] == 2 and math.isfinite(result.metrics["final_train_loss"])
    assert 0 < result.metrics["train_tokens"] <= 2 * 2 * 48


def test_eval_loss_through_the_labelled_head(
    tiny_model: Path, run_context: Any, tmp_path: Path
) -> None:
    import math

    from kinject.components import TrainJob
    from kinject.records import Record

    records = [
        Record(text=f"Clause {i} says the notice period is {i + 10} days.") for i in range(8)
    ]
    trainer = sft.SFTTrainer(
        max_steps=2, batch_size=4, report_to=[], early_stopping_patience=1, save_steps=1
    )
    job = TrainJob(
        base_model=tiny_model,
        train=records[:6],
        eval=records[6:],
        output_dir=tmp_path,
        context=run_context,
    )
    metrics = trainer.train(job).metrics
    assert (
        trainer.labelled_loss_head()
        and math.isfinite(metrics["eval_loss"])
        and metrics["eval_loss"] > 0
    )
