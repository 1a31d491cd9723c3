from __future__ import annotations

import subprocess
import sys

from kinject.components import Exporter
from kinject.plugins import Plugins

NAMES = {"adapter", "hf", "int8", "gguf", "onnx", "card", "ollama"}


def test_all_exporters_registered(kinject_plugins: Plugins) -> None:
    registry = kinject_plugins.registry("exporter")
    assert set(registry.names()) >= NAMES
    for name in NAMES:
        entry = registry.get(name)
        assert issubclass(entry.obj, Exporter) and entry.plugin == "kinject_plugins.exporters"


def test_registering_does_not_import_torch() -> None:
    code = (
        "import sys; from kinject.plugins import build_plugins; "
        "build_plugins(load_entry_points=False).registry('exporter'); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
