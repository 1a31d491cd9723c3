"""The markdown body of the model card: purpose, limits, measurements, how to load."""

from __future__ import annotations

from typing import Any

LOADING = {
    "adapter": """```python
from peft import PeftModel
from transformers import AutoModelForCausalLM, AutoTokenizer

base = AutoModelForCausalLM.from_pretrained("{base}")
model = PeftModel.from_pretrained(base, "{adapter_dir}")
tokenizer = AutoTokenizer.from_pretrained("{base}")
```""",
    "hf": """```python
from transformers import AutoModelForCausalLM, AutoTokenizer

model = AutoModelForCausalLM.from_pretrained("export/hf")
tokenizer = AutoTokenizer.from_pretrained("export/hf")
```""",
    "int8": """```python
from kinject_plugins.exporters.int8 import load_int8

model = load_int8(Path("export/int8"))  # CPU, int8 Linear layers
```""",
    "gguf": """```bash
llama-cli -m export/gguf/model-f16.gguf -p "Question: ...\\nAnswer:"
```""",
    "ollama": """```bash
ollama create my-model -f export/ollama/Modelfile && ollama run my-model
```""",
    "onnx": """```python
import onnxruntime
session = onnxruntime.InferenceSession("export/onnx/model.onnx")
logits = session.run(["logits"], {{"input_ids": ids, "attention_mask": mask}})[0]
```""",
}


def render_body(
    *,
    name: str,
    base: str,
    domain: str | None,
    strategy: str,
    adapter: bool,
    corpus: list[str],
    eval_count: int,
    metrics: dict[str, Any],
    exports: list[str],
    adapter_dir: str,
) -> str:
    """Markdown sections of the card."""
    area = domain or "a custom domain"
    kind = "a LoRA adapter on" if adapter else "a fine-tuned copy of"
    parts = [
        f"# {name}\n",
        f"{kind.capitalize()} `{base}` that was taught {area} knowledge with kinject "
        f"(strategy `{strategy}`).\n",
        "## Intended use\n",
        f"Answering questions about {area} in the style `Question: ...\\nAnswer:`, as a research "
        "or drafting aid whose answers a person checks against the sources.\n",
        "## Limitations\n",
        "- It knows what its training documents said, no more; it can state wrong facts fluently.\n"
        "- Small base models forget general knowledge when taught a domain; see the retention "
        "numbers.\n"
        "- It is not a substitute for professional legal, medical or financial advice.\n"
        "- Measurements come from a small held-out set and carry sampling noise.\n",
        "## Training data\n",
        "\n".join(f"- `{c}`" for c in corpus) + "\n" if corpus else "Not recorded.\n",
        *_privacy(metrics.get("train") or {}),
        "## Evaluation\n",
        _metrics_table(metrics, eval_count),
        "## How to load\n",
        _loading(exports, base, adapter_dir),
    ]
    return "\n".join(parts)


def _privacy(train: dict[str, Any]) -> list[str]:
    """The (ε, δ) guarantee of a DP-SGD training (``trainer.dp``), per training record."""
    if "dp_epsilon" not in train:
        return []
    return [
        f"Trained with differential privacy (DP-SGD through Opacus): "
        f"(ε = {train['dp_epsilon']:.2f}, δ = {train['dp_delta']:.2g}) per training record, "
        f"noise multiplier {train['dp_noise_multiplier']:.3g}, "
        f"clipping norm {train['dp_max_grad_norm']:g}.\n"
    ]


def _metrics_table(metrics: dict[str, Any], eval_count: int) -> str:
    trained = metrics.get("trained", {})
    if not trained:
        return "No metrics were recorded for this run.\n"
    base, delta = metrics.get("base", {}), metrics.get("delta", {})
    rows = ["| metric | base | trained | change |", "|---|---|---|---|"]
    for key in sorted(trained):
        rows.append(
            f"| {key} | {_fmt(base.get(key))} | {_fmt(trained[key])} | {_fmt(delta.get(key))} |"
        )
    return f"On {eval_count} held-out questions:\n\n" + "\n".join(rows) + "\n"


def _fmt(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, int | float) else str(value)


def _loading(exports: list[str], base: str, adapter_dir: str) -> str:
    blocks = [
        f"**{e}**\n\n{LOADING[e].format(base=base, adapter_dir=adapter_dir)}\n"
        for e in exports
        if e in LOADING
    ]
    return "\n".join(blocks) if blocks else "See the run's `export/` folder.\n"
