"""bench/scale_augment.py: the augmenters stage on repeated TAT-QA contexts, one runner a cell."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_scale_augment", BENCH / "scale_augment.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_scale_augment", module)
    spec.loader.exec_module(module)
    return module


CONTEXTS = [
    {
        "table": {"uid": "t1", "table": [["", "2019", "2018"], ["Net sales", "$120.5", "$101.2"]]},
        "paragraphs": [
            {
                "order": 1,
                "text": "Net sales increased by $19.3 million in 2019 primarily due to "
                "higher volumes in the Americas.",
            },
            {"order": 2, "text": "Northwind Inc. was founded in 1998 by Mira Okafor."},
        ],
    }
]


def test_the_local_cell_runs_both_augmenters_and_hashes_what_they_wrote(
    bench: Any, tmp_path: Path
) -> None:
    data = tmp_path / "tatqa.json"
    data.write_text(json.dumps(CONTEXTS), encoding="utf-8")
    records = bench.build_corpus(3, data)
    assert len(records) == 9 and len({r.source["uri"] for r in records}) == 3
    corpus = tmp_path / "corpus.jsonl"
    bench.write_jsonl(corpus, records)
    args = argparse.Namespace(corpus=str(corpus), runner="local", num_cpus=1, shard_records=4)
    result = bench.cell(args)
    assert result["produced"]["qa-generate"]["records"] > 0
    assert result["produced"]["paraphrase"]["runs_on"] == "local"
    written = (tmp_path / "run-local" / "augmenters.jsonl").read_text()
    assert "primarily due to higher volumes in the Americas" in written  # a reason question
    text = bench.table(3, len(records), [result])
    assert "| local |" in text and result["sha256"][:12] in text
