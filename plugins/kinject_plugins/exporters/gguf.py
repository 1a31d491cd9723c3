"""``gguf``: a GGUF file for llama.cpp and Ollama, written with the ``gguf`` package.

Llama-architecture models only (SmolLM2, TinyLlama, Llama, ...). Weights are written as f32, f16
or q8_0; 1-D tensors (norms) stay f32 as llama.cpp expects. The query and key projections are
permuted the way llama.cpp's converter does (its rotary layout differs from transformers'). The
tokenizer goes in as a byte-level BPE (``gpt2``) vocabulary with merges, special ids and the chat
template. The file is checked by loading it back with transformers' GGUF loader and comparing
logits against the merged model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from kinject.components import Exporter, TrainResult
from kinject_plugins.exporters.loading import (
    ExportError,
    check_prompts,
    compare_logits,
    export_step,
    last_logits,
    load_merged,
    load_tokenizer,
    require,
)

if TYPE_CHECKING:
    from kinject.context import RunContext

OutType = Literal["f32", "f16", "q8_0"]

#: largest relative L2 logit error accepted per weight type, and smallest top-1 agreement
TOLERANCE: dict[str, tuple[float, float]] = {
    "f32": (1e-5, 1.0),
    "f16": (1e-2, 0.95),
    "q8_0": (5e-2, 0.9),
}


class GGUFOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outtype: OutType = "f16"
    #: llama.cpp pre-tokenizer name (``smollm`` for SmolLM2); ``default`` uses its generic regex
    tokenizer_pre: str = "default"


class GGUFExporter(Exporter):
    """Writes ``model-<outtype>.gguf`` and checks it with ``from_pretrained(gguf_file=...)``."""

    name = "gguf"
    description = "GGUF (f32/f16/q8_0) for llama.cpp and Ollama, Llama architecture"
    Options = GGUFOptions
    opts: GGUFOptions

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        require("gguf", self.name)
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"model-{self.opts.outtype}.gguf"
        with export_step(self.name, "merging the adapter"):
            model = load_merged(result)
            tokenizer = load_tokenizer(result)
        if model.config.model_type != "llama":
            raise ExportError(
                self.name,
                f"only Llama-architecture models are supported, not '{model.config.model_type}'",
            )
        with export_step(self.name, f"writing {path}"):
            write_gguf(
                model,
                tokenizer,
                path,
                self.opts.outtype,
                self.opts.tokenizer_pre,
                name=self.context.run_dir.name,
            )
        with export_step(self.name, "loading the GGUF back with transformers"):
            check = self.verify(model, tokenizer, path, self.context)
        report = out_dir / "kinject_export.json"
        report.write_text(json.dumps(check, indent=2) + "\n", encoding="utf-8")
        return [path, report]

    def verify(self, model: Any, tokenizer: Any, path: Path, context: RunContext) -> dict[str, Any]:
        """Logits of the GGUF (dequantised by transformers) against the merged model."""
        from transformers import AutoModelForCausalLM, AutoTokenizer

        loaded = AutoModelForCausalLM.from_pretrained(
            str(path.parent), gguf_file=path.name, dtype="float32"
        )
        loaded.eval()
        prompts = check_prompts(context)
        stats = compare_logits(
            last_logits(model, tokenizer, prompts), last_logits(loaded, tokenizer, prompts)
        )
        max_rel, min_top1 = TOLERANCE[self.opts.outtype]
        if stats["rel_error"] > max_rel or stats["top1_agreement"] < min_top1:
            raise ExportError(self.name, f"{path.name} logits differ from the model: {stats}")
        gguf_tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
        for prompt in prompts:
            if gguf_tokenizer.encode(prompt) != tokenizer.encode(prompt):
                raise ExportError(self.name, f"the GGUF tokenizer splits {prompt!r} differently")
        return {
            "outtype": self.opts.outtype,
            "bytes": path.stat().st_size,
            **stats,
            "checked_prompts": len(prompts),
        }


def write_gguf(
    model: Any, tokenizer: Any, path: Path, outtype: str, tokenizer_pre: str, name: str
) -> None:
    """Write a Llama model and its BPE tokenizer to one GGUF file."""
    import gguf

    writer = gguf.GGUFWriter(str(path), "llama")
    _write_hparams(writer, model.config, outtype, name)
    _write_tokenizer(writer, tokenizer, model.config.vocab_size, tokenizer_pre)
    _write_tensors(writer, model, outtype)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _rope_theta(config: Any) -> float:
    params = getattr(config, "rope_parameters", None) or {}
    if params.get("rope_type", "default") != "default":
        raise ExportError(
            "gguf", f"rope scaling '{params['rope_type']}' is not written by this exporter"
        )
    theta = params.get("rope_theta", getattr(config, "rope_theta", None))
    if theta is None:
        raise ExportError("gguf", "the model config names no rope_theta")
    return float(theta)


def _write_hparams(writer: Any, config: Any, outtype: str, name: str) -> None:
    import gguf

    file_types = {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    writer.add_name(name)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_rope_freq_base(_rope_theta(config))
    writer.add_rope_dimension_count(head_dim)
    writer.add_vocab_size(config.vocab_size)
    writer.add_file_type(file_types[outtype])


def _write_tokenizer(writer: Any, tokenizer: Any, vocab_size: int, pre: str) -> None:
    import gguf

    spec = json.loads(tokenizer.backend_tokenizer.to_str())
    if spec["model"]["type"] != "BPE":
        raise ExportError("gguf", f"only BPE tokenizers are written, not {spec['model']['type']}")
    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    added = {a["id"]: a for a in spec.get("added_tokens", [])}
    tokens, types = [], []
    for i in range(vocab_size):
        if i not in by_id:
            tokens.append(f"[PAD{i}]")
            types.append(gguf.TokenType.UNUSED)
        elif i in added:
            tokens.append(by_id[i])
            types.append(
                gguf.TokenType.CONTROL if added[i].get("special") else gguf.TokenType.USER_DEFINED
            )
        else:
            tokens.append(by_id[i])
            types.append(gguf.TokenType.NORMAL)
    merges = [" ".join(m) if isinstance(m, list) else m for m in spec["model"].get("merges", [])]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for setter, token_id in (
        (writer.add_bos_token_id, tokenizer.bos_token_id),
        (writer.add_eos_token_id, tokenizer.eos_token_id),
        (writer.add_pad_token_id, tokenizer.pad_token_id),
    ):
        if token_id is not None:
            setter(int(token_id))
    if getattr(tokenizer, "chat_template", None):
        writer.add_chat_template(tokenizer.chat_template)


def _permute(weights: Any, heads: int) -> Any:
    """llama.cpp's rotary layout for q/k projections (inverse of transformers' GGUF loader)."""
    rows = weights.shape[0]
    return (
        weights.reshape(heads, 2, rows // heads // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def _write_tensors(writer: Any, model: Any, outtype: str) -> None:
    import gguf
    import numpy as np

    config = model.config
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name, tensor in model.state_dict().items():
        if hf_name == "lm_head.weight" and tied:
            continue  # llama.cpp reuses token_embd when output.weight is absent
        base, suffix = hf_name.rsplit(".", 1)
        gguf_base = names.get_name(base)
        if gguf_base is None:
            raise ExportError("gguf", f"no GGUF name for tensor {hf_name}")
        data = tensor.detach().float().cpu().numpy()
        if gguf_base.endswith("attn_q"):
            data = _permute(data, config.num_attention_heads)
        elif gguf_base.endswith("attn_k"):
            data = _permute(data, config.num_key_value_heads)
        _add_tensor(writer, f"{gguf_base}.{suffix}", data, outtype, np, gguf)


def _add_tensor(writer: Any, name: str, data: Any, outtype: str, np: Any, gguf: Any) -> None:
    if outtype == "f32" or data.ndim == 1:
        writer.add_tensor(name, data.astype(np.float32))
    elif outtype == "f16":
        writer.add_tensor(name, data.astype(np.float16))
    elif data.shape[-1] % gguf.GGML_QUANT_SIZES[gguf.GGMLQuantizationType.Q8_0][0] == 0:
        quantized = gguf.quants.quantize(data, gguf.GGMLQuantizationType.Q8_0)
        writer.add_tensor(name, quantized, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    else:
        writer.add_tensor(name, data.astype(np.float16))  # rows not a multiple of the q8_0 block
