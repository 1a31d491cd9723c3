"""Builtin exporters: each module holds one component; this hook registers them all.

Every exporter loads its own output back and raises an error naming itself when the check fails;
the engine records the failure and runs the other exporters.
"""

from __future__ import annotations

from kinject import hookimpl
from kinject.hookspecs import Register


@hookimpl
def register_exporters(register: Register) -> None:
    # Imports stay inside the hook so loading the plugin is cheap (no torch here).
    from kinject_plugins.exporters.adapter import AdapterExporter
    from kinject_plugins.exporters.card import CardExporter
    from kinject_plugins.exporters.gguf import GGUFExporter
    from kinject_plugins.exporters.hf import HFExporter
    from kinject_plugins.exporters.int8 import Int8Exporter
    from kinject_plugins.exporters.ollama import OllamaExporter
    from kinject_plugins.exporters.onnx import ONNXExporter

    for exporter in (
        AdapterExporter,
        HFExporter,
        Int8Exporter,
        GGUFExporter,
        OllamaExporter,
        ONNXExporter,
        CardExporter,
    ):
        register(exporter)
