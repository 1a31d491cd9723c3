"""Loading a trained result back for export, and the checks exporters share.

Every exporter works from the same in-memory model: the base with the LoRA adapter merged in
(or the full model a trainer saved). The checks compare an export against that model: greedy
tokens, logits, mean log-likelihood.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kinject.errors import KinjectError, MissingDependencyError

if TYPE_CHECKING:
    from kinject.components import TrainResult
    from kinject.context import RunContext

#: prompts used for checks when the run has no eval set
DEFAULT_PROMPTS: tuple[str, ...] = (
    "Question: What does the contract say about payment?\nAnswer:",
    "Question: Which term describes this obligation?\nAnswer:",
    "The main point of the document is",
)


class ExportError(KinjectError):
    """An export that could not be written or did not survive being loaded back."""

    def __init__(self, exporter: str, message: str) -> None:
        super().__init__(f"export '{exporter}' failed: {message}")
        self.exporter = exporter


@contextmanager
def export_step(exporter: str, what: str) -> Iterator[None]:
    """Turn any library error inside a step into an :class:`ExportError` naming the step."""
    try:
        yield
    except KinjectError:
        raise
    except Exception as exc:  # library errors vary widely; the user needs one clear line
        raise ExportError(exporter, f"{what}: {type(exc).__name__}: {exc}") from exc


def require(package: str, exporter: str, extra: str = "train") -> Any:
    """Import an optional dependency, or say what to install."""
    import importlib

    try:
        return importlib.import_module(package)
    except ImportError as exc:
        raise MissingDependencyError(package, extra, what=f"the '{exporter}' exporter") from exc


def load_model(path: Path) -> Any:
    """A causal LM from a local directory, float32, in eval mode (never remote code)."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(
        str(path), dtype="float32", trust_remote_code=False
    )
    model.eval()
    return model


def load_tokenizer(result: TrainResult) -> Any:
    """The tokenizer saved with the trained model, else the base model's."""
    from transformers import AutoTokenizer

    for candidate in (result.model_dir, result.base_model):
        if (candidate / "tokenizer_config.json").exists() or (
            candidate / "tokenizer.json"
        ).exists():
            return AutoTokenizer.from_pretrained(str(candidate))
    raise KinjectError(f"no tokenizer in {result.model_dir} or {result.base_model}")


def load_unmerged(result: TrainResult) -> Any:
    """Base plus adapter as trained (PEFT wrapper), or the full model, in eval mode."""
    from kinject.trained import load_trained

    return load_trained(result)[0]


def load_merged(result: TrainResult) -> Any:
    """One plain transformers model: the adapter merged into the base weights, in eval mode."""
    from kinject.trained import load_trained

    return load_trained(result, merge=True)[0]


def check_prompts(context: RunContext | None, limit: int = 4) -> list[str]:
    """Prompts for export checks: the run's eval questions when it has them."""
    from kinject.evaluation import format_prompt

    items = list(context.eval_items) if context is not None else []
    if items:
        return [format_prompt(item.question) for item in items[:limit]]
    return list(DEFAULT_PROMPTS[:limit])


def check_texts(context: RunContext | None, limit: int = 16) -> list[str]:
    """Prompt plus reference answer, for log-likelihood checks."""
    from kinject.evaluation import format_prompt

    items = list(context.eval_items) if context is not None else []
    if items:
        return [f"{format_prompt(i.question)} {i.reference}" for i in items[:limit]]
    return [f"{p} The answer is stated in the document." for p in DEFAULT_PROMPTS]


def greedy_tokens(model: Any, tokenizer: Any, prompt: str, new_tokens: int) -> list[int]:
    """The ids a model adds to ``prompt`` by greedy decoding."""
    import torch

    ids = tokenizer(prompt, return_tensors="pt")
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.no_grad():
        out = model.generate(
            **ids,
            max_new_tokens=new_tokens,
            do_sample=False,
            pad_token_id=pad,
            min_new_tokens=new_tokens,
        )
    return [int(t) for t in out[0, ids["input_ids"].shape[1] :]]


def last_logits(model: Any, tokenizer: Any, prompts: Sequence[str]) -> Any:
    """Logits of every position of every prompt, concatenated (float32 tensor)."""
    import torch

    rows = []
    with torch.no_grad():
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
            rows.append(model(input_ids=ids).logits[0].float())
    return torch.cat(rows)


def compare_logits(reference: Any, candidate: Any) -> dict[str, float]:
    """Max absolute difference, relative L2 error and top-1 agreement of two logit tensors."""
    import torch

    diff = (reference - candidate).abs()
    rel = torch.linalg.vector_norm(reference - candidate) / torch.linalg.vector_norm(reference)
    agree = (reference.argmax(-1) == candidate.argmax(-1)).float().mean()
    return {
        "max_abs_diff": float(diff.max()),
        "rel_error": float(rel),
        "top1_agreement": float(agree),
    }


def mean_log_likelihood(model: Any, tokenizer: Any, texts: Sequence[str]) -> float:
    """Mean per-token log-likelihood of ``texts`` under ``model`` (higher is better)."""
    import torch

    total, count = 0.0, 0
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, return_tensors="pt")["input_ids"]
            if ids.shape[1] < 2:
                continue
            logp = torch.log_softmax(model(input_ids=ids).logits[0, :-1].float(), dim=-1)
            total += float(logp.gather(1, ids[0, 1:, None]).sum())
            count += ids.shape[1] - 1
    if count == 0:
        raise KinjectError("no text long enough to score")
    return total / count


def files_size(paths: Sequence[Path]) -> int:
    """Total bytes of the files (directories counted recursively)."""
    total = 0
    for path in paths:
        if path.is_dir():
            total += sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        elif path.exists():
            total += path.stat().st_size
    return total


def weight_files(model_dir: Path) -> list[Path]:
    """The weight files of a saved model or adapter directory."""
    return sorted(p for p in model_dir.iterdir() if p.suffix in (".safetensors", ".bin", ".pt"))
