"""Packed rows kept apart: the CPU's way of training on packed sequences.

TRL packs rows into ``max_length`` blocks (best-fit decreasing) and then flattens a whole batch
into one sequence. Without FlashAttention's varlen kernels, attention over that sequence is one
dense ``(batch * max_length)²`` mask, most of it masked. This collator keeps the batch
dimension: each packed block is a row of at most ``max_length`` tokens, its position ids restart
at every sequence, and there is no attention mask, so transformers builds a block-diagonal causal
mask per row (``masking_utils.find_packed_sequence_indices``) and no sequence sees another.
"""

from __future__ import annotations

from typing import Any

#: the real (non-pad) tokens of each row, for the token count; never given to the model
ROW_TOKENS = "row_tokens"


class PackedRowsCollator:
    """Collate packed examples (``input_ids``, ``labels``, ``seq_lengths``) as ``[batch,
    length]``.
    """

    def __init__(self, pad_token_id: int) -> None:
        from trl.trainer.sft_trainer import DataCollatorForLanguageModeling

        self.inner = DataCollatorForLanguageModeling(
            pad_token_id=pad_token_id, return_position_ids=True
        )

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.inner(examples)
        mask = batch.pop("attention_mask")
        # The first token of a sequence is never the target of the sequence packed before it.
        batch["labels"][batch["position_ids"] == 0] = -100
        batch[ROW_TOKENS] = mask.sum(dim=1)
        return batch
