"""The ``gguf`` export run by llama.cpp itself (llama-cpp-python), against the merged HF model.

llama-cpp-python builds llama.cpp from source, so it is not a test dependency: these tests skip
without it (``pip install 'kinject[llama]'``).

The rule: llama.cpp tokenizes the prompts as the HF tokenizer does (BOS handling included); on
the tiny random model its logits at every prompt position are within 1e-3 (f32) / 2e-3 (f16)
relative L2 error of the merged model's with the same argmax; on the embedded model trained for a
few steps, the f16 file's greedy continuation (plain argmax, end-of-text not suppressed) is the
same 16 token ids as the merged model's for every prompt. q8_0 changes greedy choices on close
calls, so it is held to the logit check only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kinject.components import TrainResult
from kinject.context import RunContext
from kinject.evaluation import EvalItem
from kinject_plugins.exporters.gguf import GGUFExporter, write_gguf
from kinject_plugins.exporters.loading import check_prompts, load_merged, load_tokenizer

llama_cpp = pytest.importorskip(
    "llama_cpp",
    reason="llama-cpp-python is not installed: pip install 'kinject[llama]' (builds llama.cpp)",
)

NEW_TOKENS = 16


@contextmanager
def llama(path: Path) -> Iterator[Any]:
    """The GGUF loaded by llama.cpp on the CPU, logits kept for every position."""
    llm = llama_cpp.Llama(
        model_path=str(path), n_ctx=256, n_threads=1, logits_all=True, verbose=False, seed=0
    )
    try:
        yield llm
    finally:
        llm.close()


def llama_logits(llm: Any, ids: list[int]) -> Any:
    import numpy as np

    llm.reset()
    llm.eval(ids)
    return np.array(llm.scores[: len(ids)])


def llama_greedy(llm: Any, ids: list[int], n: int) -> list[int]:
    import numpy as np

    llm.reset()
    llm.eval(ids)
    out: list[int] = []
    for _ in range(n):
        out.append(int(np.argmax(llm.scores[llm.n_tokens - 1])))
        llm.eval(out[-1:])
    return out


def hf_greedy(model: Any, ids: list[int], n: int) -> list[int]:
    """Plain argmax decoding (``generate`` with ``min_new_tokens`` would forbid end-of-text)."""
    import torch

    seq = list(ids)
    with torch.no_grad():
        for _ in range(n):
            seq.append(int(model(input_ids=torch.tensor([seq])).logits[0, -1].argmax()))
    return seq[len(ids) :]


def check_tokenization(llm: Any, tokenizer: Any, prompts: list[str]) -> list[list[int]]:
    """llama.cpp's default tokenization (BOS when the file asks for one) equals the HF
    tokenizer's.
    """
    encoded = []
    for prompt in prompts:
        ids = list(tokenizer(prompt)["input_ids"])
        assert llm.tokenize(prompt.encode(), add_bos=True, special=False) == ids, prompt
        encoded.append(ids)
    return encoded


@pytest.mark.parametrize(("outtype", "max_rel"), [("f32", 1e-3), ("f16", 2e-3)])
def test_llama_cpp_logits_match_on_the_tiny_model(
    outtype: str, max_rel: float, adapter_result: TrainResult, run_context: RunContext
) -> None:
    import numpy as np
    import torch

    out = run_context.run_dir / "gguf"
    GGUFExporter(outtype=outtype).export(adapter_result, out, run_context)
    model, tokenizer = load_merged(adapter_result), load_tokenizer(adapter_result)
    with llama(out / f"model-{outtype}.gguf") as llm:
        for ids in check_tokenization(llm, tokenizer, check_prompts(run_context)):
            got = llama_logits(llm, ids)
            with torch.no_grad():
                want = model(input_ids=torch.tensor([ids])).logits[0].numpy()
            assert np.linalg.norm(want - got) / np.linalg.norm(want) < max_rel
            assert (want.argmax(-1) == got.argmax(-1)).all()


@pytest.mark.slow
def test_llama_cpp_greedy_continuation_matches_the_trained_embedded_model(
    embedded_sft_result: TrainResult, run_context: RunContext, embedded_eval_items: list[EvalItem]
) -> None:
    run_context.eval_items = embedded_eval_items
    model, tokenizer = load_merged(embedded_sft_result), load_tokenizer(embedded_sft_result)
    path = run_context.run_dir / "model-f16.gguf"
    # the exporter's writer alone: its transformers load-back is tested in test_gguf.py and is slow
    # here
    write_gguf(model, tokenizer, path, "f16", "smollm", name="embedded")
    with llama(path) as llm:
        for ids in check_tokenization(llm, tokenizer, check_prompts(run_context)):
            assert llama_greedy(llm, ids, NEW_TOKENS) == hf_greedy(model, ids, NEW_TOKENS), (
                tokenizer.decode(ids)
            )
