"""``hf``: the LoRA adapter merged into the base, saved as plain transformers safetensors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field

from kinject.components import Exporter, TrainResult
from kinject_plugins.exporters.loading import (
    ExportError,
    check_prompts,
    export_step,
    greedy_tokens,
    load_merged,
    load_model,
    load_tokenizer,
    load_unmerged,
)

if TYPE_CHECKING:
    from kinject.context import RunContext


class HFOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: tokens generated per prompt when checking the reloaded model
    check_tokens: int = Field(default=12, ge=1)
    #: shard size passed to ``save_pretrained``
    max_shard_size: str = "2GB"


class HFExporter(Exporter):
    """Merges with ``merge_and_unload`` and checks the reload greedy-generates the same tokens."""

    name = "hf"
    description = "merged Hugging Face model (safetensors + tokenizer + chat template)"
    Options = HFOptions
    opts: HFOptions

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        out_dir.mkdir(parents=True, exist_ok=True)
        with export_step(self.name, "merging the adapter"):
            tokenizer = load_tokenizer(result)
            model = load_merged(result)
        with export_step(self.name, f"saving to {out_dir}"):
            model.save_pretrained(
                str(out_dir), safe_serialization=True, max_shard_size=self.opts.max_shard_size
            )
            tokenizer.save_pretrained(str(out_dir))
        if any(out_dir.glob("*.bin")):
            raise ExportError(self.name, "weights were written as pickle .bin, not safetensors")
        with export_step(self.name, "reloading with plain transformers"):
            report = self.verify(result, out_dir, self.context)
        report_path = out_dir / "kinject_export.json"
        report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        return sorted(p for p in out_dir.iterdir() if p.is_file())

    def verify(self, result: TrainResult, out_dir: Path, context: RunContext) -> dict[str, object]:
        """Greedy tokens of the reloaded merged model must equal the unmerged model's."""
        from transformers import AutoTokenizer

        reloaded = load_model(out_dir)
        tokenizer = AutoTokenizer.from_pretrained(str(out_dir))
        reference = load_unmerged(result)
        prompts = check_prompts(context, limit=2)
        for prompt in prompts:
            want = greedy_tokens(reference, tokenizer, prompt, self.opts.check_tokens)
            got = greedy_tokens(reloaded, tokenizer, prompt, self.opts.check_tokens)
            if want != got:
                raise ExportError(
                    self.name,
                    f"reloaded model generates {got}, trained model {want} for {prompt!r}",
                )
        return {
            "merged_from_adapter": result.adapter,
            "checked_prompts": len(prompts),
            "check_tokens": self.opts.check_tokens,
            "chat_template": bool(getattr(tokenizer, "chat_template", None)),
        }
