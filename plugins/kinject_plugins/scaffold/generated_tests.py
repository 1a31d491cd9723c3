"""Templates of the test module a new plugin package ships, one per kind.

The same ``string.Template`` placeholders as :mod:`kinject_plugins.scaffold.templates`, plus
``$registered``: :data:`REGISTERED`, the registration tests every kind's module starts with.
"""

from __future__ import annotations

#: the registration tests every kind's test module starts with (``$registered``)
REGISTERED = """def test_registered(register_plugin, kinject_plugins):
    register_plugin($module)
    assert kinject_plugins.registry("$kind").get("$name").obj is $module.$cls


def test_installed_entry_point():
    try:
        metadata.distribution("$dist")
    except metadata.PackageNotFoundError:
        pytest.skip("$dist is not installed: pip install -e .")
    entry = build_plugins().registry("$kind").get("$name")
    assert entry.obj is $module.$cls
    assert (entry.plugin, entry.distribution) == ("$name", "$dist")
"""

TESTS = {
    "source": """from importlib import metadata
from pathlib import Path

import pytest

import $module
from kinject.errors import InputError
from kinject.plugins import build_plugins


$registered

def test_reads_paragraphs(tmp_path: Path):
    path = tmp_path / "notes.$name"
    path.write_text("First paragraph.\\n\\nSecond one.\\n", encoding="utf-8")
    records = list($module.$cls().read(str(path)))
    assert [r.text for r in records] == ["First paragraph.", "Second one."]
    assert records[1].source == {"uri": str(path), "paragraph": 1}


def test_bad_input_has_a_reason(tmp_path: Path):
    path = tmp_path / "bad.$name"
    path.write_bytes(b"\\xff\\xfe\\xfa")
    with pytest.raises(InputError) as info:
        list($module.$cls().read(str(path)))
    assert info.value.reason == "bad_encoding"


def test_whitespace_only_is_an_empty_document(tmp_path: Path):
    path = tmp_path / "blank.$name"
    path.write_text("\\n  \\n", encoding="utf-8")
    with pytest.raises(InputError) as info:
        list($module.$cls().read(str(path)))
    assert info.value.reason == "empty_document"
""",
    "cleaner": """from importlib import metadata

import pytest

import $module
from kinject.plugins import build_plugins
from kinject.records import Record, Rejected


$registered

def test_collapses_and_drops():
    cleaner = $module.$cls(min_words=2)
    out = list(cleaner.apply([Record(text="two   words here"), Record(text="one")]))
    assert out[0].text == "two words here"
    assert isinstance(out[1], Rejected) and out[1].reason == "too_few_words"
""",
    "augmenter": """from importlib import metadata

import pytest

import $module
from kinject.plugins import build_plugins
from kinject.records import Record


$registered

def test_definitions_become_qa():
    doc = Record(text="Earnest money is a deposit that secures a contract. Paid early, it binds both parties.")
    (qa,) = list($module.$cls().augment([doc]))
    assert qa.kind == "qa"
    assert qa.meta["question"] == "What is Earnest money?"
    assert qa.meta["answer"] == "a deposit that secures a contract"
""",
    "trainer": """from importlib import metadata

import pytest

import $module
from kinject.components import TrainJob
from kinject.plugins import build_plugins
from kinject.records import Record


$registered

def test_loss_falls_on_tiny_model(tiny_model, run_context, tmp_path):
    records = [Record(text="Earnest money secures a contract.")]
    job = TrainJob(base_model=tiny_model, train=records, output_dir=tmp_path / "out", context=run_context)
    result = $module.$cls(steps=8, learning_rate=1e-2).train(job)
    assert (result.model_dir / "config.json").exists()
    assert result.metrics["last_loss"] < result.metrics["first_loss"]
""",
    "evaluator": """from importlib import metadata

import pytest

import $module
from kinject.evaluation import EvalItem, EvalModel
from kinject.models import load_causal_lm
from kinject.plugins import build_plugins


$registered

def test_scores_between_zero_and_one(tiny_model, run_context):
    model, tokenizer = load_causal_lm(tiny_model)
    items = [EvalItem(id="1", question="What secures a contract?", answer_text="earnest money")]
    metrics = $module.$cls(max_new_tokens=4).evaluate(EvalModel(model, tokenizer, "tiny"), items, run_context)
    assert metrics["n"] == 1 and 0.0 <= metrics["contains"] <= 1.0
""",
    "exporter": """import json
from importlib import metadata

import pytest

import $module
from kinject.components import TrainResult
from kinject.plugins import build_plugins


$registered

def test_exports_with_checksums(tiny_model, run_context):
    result = TrainResult(model_dir=tiny_model, base_model=tiny_model, adapter=False)
    paths = $module.$cls().export(result, run_context.run_dir / "export" / "$name", run_context)
    sums = json.loads(paths[-1].read_text())
    assert "config.json" in sums and len(sums) == len(paths) - 1
""",
}
