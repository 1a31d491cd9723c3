"""bench/scale_augment.py: the augmenters stage on repeated TAT-QA contexts, one runner a cell."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest
from bench_modules import BENCH, load_bench


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> Any:
    return load_bench(BENCH / "scale_augment.py", "bench_scale_augment", monkeypatch)


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
