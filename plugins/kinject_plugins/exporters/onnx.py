"""``onnx``: the merged model as ONNX (logits for ``input_ids`` + ``attention_mask``), checked
with onnxruntime.

Uses ``torch.onnx.export(..., dynamo=True)`` (the ``torch.export`` based exporter, which needs
``onnxscript``) with dynamic batch and sequence axes. The graph has no KV cache: it computes the
logits of the whole sequence, which is what scoring and simple generation loops need.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Exporter, TrainResult
from kinject_plugins.exporters.loading import (
    ExportError,
    check_prompts,
    compare_logits,
    export_step,
    load_merged,
    load_tokenizer,
    require,
)

if TYPE_CHECKING:
    from kinject.context import RunContext

MODEL_FILE = "model.onnx"


class ONNXOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    opset: int = Field(default=18, ge=14)
    #: largest accepted relative L2 logit error between PyTorch and onnxruntime
    max_rel_error: float = 1e-4


class ONNXExporter(Exporter):
    """Exports with the dynamo exporter and compares onnxruntime logits with PyTorch's."""

    name = "onnx"
    description = "ONNX graph (logits, dynamic batch/sequence) checked with onnxruntime"
    Options = ONNXOptions
    opts: ONNXOptions

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        for package in ("onnx", "onnxscript", "onnxruntime"):
            require(package, self.name, extra="export")
        out_dir.mkdir(parents=True, exist_ok=True)
        with export_step(self.name, "merging the adapter"):
            model = load_merged(result)
            tokenizer = load_tokenizer(result)
        with export_step(self.name, f"exporting to {out_dir / MODEL_FILE}"):
            self._export(model, out_dir / MODEL_FILE)
            tokenizer.save_pretrained(str(out_dir))
        with export_step(self.name, "running the graph in onnxruntime"):
            check = self.verify(model, tokenizer, out_dir / MODEL_FILE, self.context)
        (out_dir / "kinject_export.json").write_text(
            json.dumps(check, indent=2) + "\n", encoding="utf-8"
        )
        return sorted(p for p in out_dir.iterdir() if p.is_file())

    def _export(self, model: Any, path: Path) -> None:
        import torch

        class LogitsOnly(torch.nn.Module):
            """One output, no KV cache: the graph maps token ids to logits."""

            def __init__(self) -> None:
                super().__init__()
                self.model = model

            def forward(self, input_ids: Any, attention_mask: Any) -> Any:
                return self.model(
                    input_ids=input_ids, attention_mask=attention_mask, use_cache=False
                ).logits

        wrapper = LogitsOnly().eval()
        batch, seq = torch.export.Dim("batch"), torch.export.Dim("sequence")
        example = torch.ones((2, 8), dtype=torch.long)
        torch.onnx.export(
            wrapper,
            (example, torch.ones_like(example)),
            str(path),
            input_names=["input_ids", "attention_mask"],
            output_names=["logits"],
            dynamic_shapes={"input_ids": {0: batch, 1: seq}, "attention_mask": {0: batch, 1: seq}},
            opset_version=self.opts.opset,
            dynamo=True,
            verbose=False,
        )

    def verify(self, model: Any, tokenizer: Any, path: Path, context: RunContext) -> dict[str, Any]:
        """onnxruntime logits must match PyTorch's for prompts of different lengths."""
        import onnx
        import onnxruntime
        import torch

        onnx.checker.check_model(str(path))
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        worst: dict[str, float] = {"max_abs_diff": 0.0, "rel_error": 0.0, "top1_agreement": 1.0}
        prompts = check_prompts(context)
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
            mask = torch.ones_like(ids)
            got = session.run(
                ["logits"], {"input_ids": ids.numpy(), "attention_mask": mask.numpy()}
            )[0]
            with torch.no_grad():
                want = model(input_ids=ids, attention_mask=mask).logits.float()
            stats = compare_logits(want[0], torch.from_numpy(got)[0])
            worst = {
                "max_abs_diff": max(worst["max_abs_diff"], stats["max_abs_diff"]),
                "rel_error": max(worst["rel_error"], stats["rel_error"]),
                "top1_agreement": min(worst["top1_agreement"], stats["top1_agreement"]),
            }
        if worst["rel_error"] > self.opts.max_rel_error:
            raise ExportError(self.name, f"onnxruntime logits differ from PyTorch's: {worst}")
        return {"opset": self.opts.opset, "checked_prompts": len(prompts), **worst}
