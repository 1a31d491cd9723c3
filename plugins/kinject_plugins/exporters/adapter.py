"""``adapter``: the PEFT adapter alone, with a small file naming the base model it belongs to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from kinject.components import Exporter, TrainResult
from kinject_plugins.exporters.loading import ExportError, export_step, load_model, require

if TYPE_CHECKING:
    from kinject.context import RunContext

ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
BASE_INFO = "kinject_adapter.json"


class AdapterExporter(Exporter):
    """Copies the LoRA adapter and checks that it loads onto the base model with peft."""

    name = "adapter"
    description = "PEFT adapter alone (+ the base model it belongs to)"

    def export(self, result: TrainResult, out_dir: Path, context: RunContext) -> list[Path]:
        if not result.adapter:
            raise ExportError(self.name, "the trainer saved a full model, not an adapter; use 'hf'")
        missing = [f for f in ADAPTER_FILES if not (result.model_dir / f).exists()]
        if missing:
            raise ExportError(self.name, f"{result.model_dir} has no {', '.join(missing)}")
        require("peft", self.name)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [Path(shutil.copy2(result.model_dir / f, out_dir / f)) for f in ADAPTER_FILES]
        paths.append(self._write_base_info(result, out_dir))
        with export_step(self.name, "loading the adapter back onto the base"):
            self.verify(out_dir, result.base_model)
        return paths

    def _write_base_info(self, result: TrainResult, out_dir: Path) -> Path:
        config = json.loads((out_dir / "adapter_config.json").read_text(encoding="utf-8"))
        info = {
            "base_model": self.context.config.base_model,
            "base_model_dir": str(result.base_model),
            "peft_type": config.get("peft_type"),
            "r": config.get("r"),
            "target_modules": config.get("target_modules"),
            "load": "PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), "
            "adapter_dir)",
        }
        path = out_dir / BASE_INFO
        path.write_text(json.dumps(info, indent=2, default=str) + "\n", encoding="utf-8")
        return path

    def verify(self, adapter_dir: Path, base_model: Path) -> None:
        """Load the adapter onto the base; every saved LoRA tensor must arrive unchanged."""
        import torch
        from peft import get_peft_model_state_dict
        from safetensors.torch import load_file

        from kinject.trained import attach_adapter

        model = attach_adapter(load_model(base_model), adapter_dir)
        saved = load_file(str(adapter_dir / "adapter_model.safetensors"))
        loaded = get_peft_model_state_dict(model)
        if set(saved) != set(loaded):
            raise ExportError(
                self.name,
                f"tensor names differ after loading: {sorted(set(saved) ^ set(loaded))[:5]}",
            )
        for key, tensor in saved.items():
            if not torch.equal(tensor.float(), loaded[key].float().cpu()):
                raise ExportError(self.name, f"tensor {key} changed when loaded back")
