"""Rollouts: sample answers from the policy and measure them token by token.

A batch of prompts is left-padded and sampled from; each response ends at its first stop token
(eos, or a token holding a newline: the answer line is what evaluators read) and is right-padded
with a mask. :func:`score_tokens` then runs the model once over prompt + response and returns
each response token's log-probability, the entropy of its distribution and, given a value head,
the value of the state before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from kinject_plugins.trainers.ppo.ppo_math import entropy_from_logits, logprobs_from_logits


class ValueHead(nn.Module):
    """V(s): one linear layer on the policy's last hidden state (the trunk is shared)."""

    def __init__(self, hidden_size: int) -> None:
        super().__init__()
        self.linear = nn.Linear(hidden_size, 1)
        nn.init.normal_(self.linear.weight, std=1.0 / (hidden_size + 1))
        nn.init.zeros_(self.linear.bias)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return self.linear(hidden.float()).squeeze(-1)


@dataclass
class Batch:
    """Sampled responses to a batch of prompts, as tensors."""

    query: torch.Tensor
    query_mask: torch.Tensor
    response: torch.Tensor
    response_mask: torch.Tensor
    texts: list[str]

    def rows(self, index: torch.Tensor) -> Batch:
        return Batch(
            self.query[index],
            self.query_mask[index],
            self.response[index],
            self.response_mask[index],
            [self.texts[i] for i in index.tolist()],
        )


@dataclass
class TokenScores:
    """Per response token: log π, entropy and (when asked) the value."""

    logprobs: torch.Tensor
    entropy: torch.Tensor
    values: torch.Tensor | None


def stop_token_ids(tokenizer: Any) -> list[int]:
    """eos plus every token whose text holds a newline."""
    vocab = len(tokenizer)
    decoded = tokenizer.batch_decode([[i] for i in range(vocab)])
    ids = {i for i, text in enumerate(decoded) if "\n" in text}
    if tokenizer.eos_token_id is not None:
        ids.add(int(tokenizer.eos_token_id))
    return sorted(ids)


def encode_prompts(
    tokenizer: Any, prompts: Sequence[str], device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-padded prompt ids and attention mask (special tokens as in ``sft`` training)."""
    encoded = [list(tokenizer(p, add_special_tokens=True)["input_ids"]) for p in prompts]
    width = max(len(ids) for ids in encoded)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    query = torch.full((len(encoded), width), int(pad), dtype=torch.long)
    mask = torch.zeros((len(encoded), width), dtype=torch.long)
    for row, ids in enumerate(encoded):
        query[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
        mask[row, width - len(ids) :] = 1
    return query.to(device), mask.to(device)


class _AllStopped:
    """Generation stopping criterion: a row is done once it has produced a stop token."""

    def __init__(self, stop_ids: torch.Tensor, prompt_width: int) -> None:
        self.stop_ids = stop_ids
        self.prompt_width = prompt_width

    def __call__(self, input_ids: torch.Tensor, scores: Any, **kwargs: Any) -> torch.Tensor:
        generated = input_ids[:, self.prompt_width :]
        return torch.isin(generated, self.stop_ids.to(generated.device)).any(dim=1)


def response_mask(response: torch.Tensor, stop_ids: torch.Tensor) -> torch.Tensor:
    """1 up to and including each row's first stop token (every token when there is none)."""
    is_stop = torch.isin(response, stop_ids.to(response.device)).long()
    # Tokens after the first stop have a stop before them: cumsum of stops, shifted right by one.
    before = torch.cumsum(is_stop, dim=1) - is_stop
    return (before == 0).long()


def sample_responses(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    stop_ids: torch.Tensor,
    max_new_tokens: int,
    temperature: float = 1.0,
    greedy: bool = False,
) -> Batch:
    """Sample (or greedily decode) one response per prompt."""
    device = next(model.parameters()).device
    query, query_mask = encode_prompts(tokenizer, prompts, device)
    sampling: dict[str, Any] = (
        {"do_sample": False}
        if greedy
        else {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
    )
    with torch.no_grad():
        out = model.generate(
            input_ids=query,
            attention_mask=query_mask,
            max_new_tokens=max_new_tokens,
            stopping_criteria=[_AllStopped(stop_ids, query.shape[1])],
            pad_token_id=tokenizer.pad_token_id
            if tokenizer.pad_token_id is not None
            else tokenizer.eos_token_id,
            **sampling,
        )
    response = out[:, query.shape[1] :]
    mask = response_mask(response, stop_ids)
    texts = [
        tokenizer.decode(row[: int(m.sum())], skip_special_tokens=True).strip()
        for row, m in zip(response, mask, strict=True)
    ]
    return Batch(query, query_mask, response, mask, texts)


def score_tokens(
    model: Any, batch: Batch, temperature: float = 1.0, value_head: ValueHead | None = None
) -> TokenScores:
    """One forward pass over prompt + response: log π, entropy and values of the response tokens."""
    input_ids = torch.cat([batch.query, batch.response], dim=1)
    attention = torch.cat([batch.query_mask, batch.response_mask], dim=1)
    # Positions count real tokens only, as generate() did with the left padding.
    positions = (attention.cumsum(dim=1) - 1).clamp(min=0)
    out = model(
        input_ids=input_ids,
        attention_mask=attention,
        position_ids=positions,
        output_hidden_states=value_head is not None,
        use_cache=False,
    )
    start, end = batch.query.shape[1] - 1, input_ids.shape[1] - 1
    logits = out.logits[:, start:end].float() / temperature
    values = value_head(out.hidden_states[-1][:, start:end]) if value_head is not None else None
    return TokenScores(
        logprobs_from_logits(logits, batch.response), entropy_from_logits(logits), values
    )
