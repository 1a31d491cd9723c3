"""The data runners: steps, shards, resume, and ``runner: local`` vs ``runner: ray`` output."""

from __future__ import annotations

import json
import sys
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from kinject import hookimpl
from kinject.components import Augmenter, RecordCleaner
from kinject.config import RayConfig, RunConfig
from kinject.plugins import Plugins
from kinject.records import Record, Rejected
from kinject.runners import DataRunner, apply_chain, make_runner, plan_steps
from kinject.runners.augment import add_stats, document_groups
from kinject.runners.shards import split_records

LEASE = (
    "The tenant {name} shall pay a deposit of ${amount} to the landlord in {city} before "
    "{day} March 2024."
)
PRICE = "The contract price of ${price} is payable in {n} monthly instalments from {day} May 2023."
ZH = "租客{name}应于2024年3月{day}日向房东支付{amount}元押金。合同价款为{price}元，分{n}期支付。"


def _corpus() -> list[Record]:
    """Templated-but-distinct documents, exact and near copies, PII, junk and a paged report."""
    texts = []
    for i, (name, city) in enumerate(
        [
            ("Anna Smith", "Boston"),
            ("Ben Jones", "Denver"),
            ("Carla Brown", "Austin"),
            ("David Hall", "Leeds"),
            ("Emma King", "Porto"),
            ("Farid Hill", "Oslo"),
        ]
    ):
        texts.append(
            f"{LEASE.format(name=name, amount=500 + i * 70, city=city, day=i + 1)} "
            f"{PRICE.format(price=120_000 + i * 999, n=i + 3, day=i + 2)}"
        )
    texts.append(texts[0].upper())  # exact copies: case and whitespace
    texts.append("  " + texts[1].replace(" ", "  \n", 2))
    texts.append(
        "In addition, " + texts[2][0].lower() + texts[2][1:].replace(" shall ", " must ")
    )  # near copies
    texts.append(texts[3].replace(" before ", " no later than ") + " As agreed.")
    texts += [
        ZH.format(name="张伟", day=5, amount=3000, price=880000, n=6),
        ZH.format(name="王芳", day=9, amount=4100, price=760000, n=4),
    ]
    texts.append(texts[-2].replace("应于", "须于"))
    texts += [
        "Write to anna.smith@example.com or call +1 415 555 0199 about the lease.",
        "Click here to subscribe. " * 8,
        "---- **** ==== ---- #### ****",
    ]
    records = [Record(t, source={"uri": f"mem://{i}"}) for i, t in enumerate(texts)]
    pages = [
        f"Harbour Lights annual review\nRevenue rose to ${40 + p}.{p} million in "
        f"{2015 + p}.\nPage {p} of 4"
        for p in range(1, 5)
    ]
    records += [
        Record(t, source={"uri": "mem://report", "page": p}) for p, t in enumerate(pages, 1)
    ]
    return records


def _cleaners(plugins: Plugins, names: list[str]) -> list[Any]:
    return [plugins.create("cleaner", name, {}) for name in names]


def _outcome(items: list[Any]) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str]]]:
    kept = [i.to_dict() for i in items if isinstance(i, Record)]
    rejected = sorted(
        (i.record.id, i.reason, i.plugin, i.detail) for i in items if isinstance(i, Rejected)
    )
    return kept, rejected


MODEL_FREE = [
    "normalize",
    "standardize",
    "pii-scrub",
    "length",
    "low-information",
    "exact-dedup",
    "decontaminate",
]


def test_per_record_cleaners_share_a_step_and_global_ones_stand_alone(
    kinject_plugins: Plugins,
) -> None:
    steps = plan_steps(
        _cleaners(kinject_plugins, ["normalize", "pii-scrub", "exact-dedup", "length", "language"])
    )
    assert [(s.name, s.parallel) for s in steps] == [
        ("01-normalize+pii-scrub", True),
        ("02-exact-dedup", False),
        ("03-length+language", True),
    ]


def test_shards_keep_the_pages_of_a_document_together() -> None:
    records = _corpus()
    shards = list(split_records(records, 3))
    assert [r for s in shards for r in s] == records
    report = [i for i, s in enumerate(shards) if any(r.source["uri"] == "mem://report" for r in s)]
    assert len(report) == 1 and all(len(s) >= 3 for s in shards[:-1])


@pytest.mark.parametrize("shard_records", [1, 4, 1000])
def test_local_runner_gives_what_one_stream_gives(
    kinject_plugins: Plugins, tmp_path: Path, shard_records: int
) -> None:
    records = _corpus()
    expected = _outcome(list(apply_chain(_cleaners(kinject_plugins, MODEL_FREE), records)))
    runner = DataRunner(RunConfig(shard_records=shard_records))
    got = _outcome(
        list(
            runner.clean(records, _cleaners(kinject_plugins, MODEL_FREE), tmp_path / "shards", "fp")
        )
    )
    assert got == expected
    assert {r[1] for r in got[1]} >= {"exact_duplicate", "too_short", "repetition"}
    assert not (tmp_path / "shards").exists()  # a finished stage leaves only its own file


class TripOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: while this file exists, a Record containing ``word`` stops the stage
    trip_file: str
    word: str = "Emma"


class Tripwire(RecordCleaner):
    """Stands in for a kill: fails on one Record while the trip file exists."""

    name = "tripwire"
    Options = TripOptions
    opts: TripOptions

    def clean(self, record: Record) -> Record | Rejected:
        if self.opts.word in record.text and Path(self.opts.trip_file).exists():
            raise RuntimeError("interrupted")
        return record.with_text(record.text + " ", self.name)


def _resume(
    again_factory: Callable[[], DataRunner], kinject_plugins: Plugins, tmp_path: Path
) -> DataRunner:
    """Interrupt a local run of three cleaners at its second shard, then finish it with another
    runner.
    """
    records, trip = _corpus(), tmp_path / "trip"
    trip.touch()
    folder = tmp_path / "shards"

    def cleaners() -> list[Any]:
        return [
            *_cleaners(kinject_plugins, ["normalize"]),
            Tripwire(trip_file=str(trip)),
            *_cleaners(kinject_plugins, ["exact-dedup"]),
        ]

    with (
        DataRunner(RunConfig(shard_records=4)) as first,
        pytest.raises(RuntimeError, match="interrupted"),
    ):
        list(first.clean(records, cleaners(), folder, "fp"))
    finished = sorted(p.name for p in (folder / "01-normalize+tripwire").glob("*.done.json"))
    assert finished == ["00000.done.json"]  # the first shard; the second was interrupted
    trip.unlink()
    with again_factory() as again:
        resumed = _outcome(list(again.clean(records, cleaners(), folder, "fp")))
    uninterrupted = _outcome(list(apply_chain(cleaners(), records)))
    assert resumed == uninterrupted
    return again


def test_a_rerun_after_an_interruption_redoes_only_unfinished_shards(
    kinject_plugins: Plugins, tmp_path: Path
) -> None:
    again = _resume(lambda: DataRunner(RunConfig(shard_records=4)), kinject_plugins, tmp_path)
    step = again.stats["01-normalize+tripwire"]
    assert step["resumed"] == 1 and step["computed"] == len(list(split_records(_corpus(), 4))) - 1


def test_unknown_runner_is_a_config_error() -> None:
    from kinject.config import build_config
    from kinject.errors import ConfigError

    with pytest.raises(ConfigError, match="runner"):
        build_config({"runner": "spark"})
    with pytest.raises(ConfigError, match="num_cpus"):
        build_config({"ray": {"num_cpus": 0}})


# -- Ray ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """One local Ray (2 CPUs) for the module: starting one takes seconds."""
    ray = pytest.importorskip(
        "ray", reason="runner: ray needs the ray extra (pip install 'kinject[ray]')"
    )
    from kinject.runners.ray_runner import start_ray

    started = start_ray(RunConfig(runner="ray", ray=RayConfig(num_cpus=2)))
    # Ray workers cannot import this test module: its test cleaner travels by value
    ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    if started:
        ray.shutdown()


def _ray(shard_records: int = 4) -> DataRunner:
    return make_runner(RunConfig(runner="ray", shard_records=shard_records))


@pytest.mark.usefixtures("local_ray")
def test_ray_gives_the_same_records_ids_and_order(kinject_plugins: Plugins, tmp_path: Path) -> None:
    pytest.importorskip("sentence_transformers", reason="near-dedup needs the embed extra")
    names = [*MODEL_FREE, "near-dedup"]
    records = _corpus()
    local = _outcome(
        list(
            DataRunner(RunConfig(shard_records=4)).clean(
                records, _cleaners(kinject_plugins, names), tmp_path / "local", "fp"
            )
        )
    )
    with _ray() as runner:
        got = _outcome(
            list(runner.clean(records, _cleaners(kinject_plugins, names), tmp_path / "ray", "fp"))
        )
    assert got == local
    reasons = [r[1] for r in got[1]]
    assert reasons.count("exact_duplicate") == 2 and reasons.count("near_duplicate") == 3


@pytest.mark.usefixtures("local_ray")
def test_ray_resumes_the_shards_another_run_finished(
    kinject_plugins: Plugins, tmp_path: Path
) -> None:
    again = _resume(_ray, kinject_plugins, tmp_path)
    assert again.stats["01-normalize+tripwire"]["resumed"] == 1


@pytest.mark.usefixtures("local_ray")
def test_prepare_writes_byte_identical_stage_files(
    kinject_plugins: Plugins, tiny_model: Path, tmp_path: Path
) -> None:
    from kinject.commands import prepare_run
    from kinject.runs import open_run, resolve_config

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for i, record in enumerate(_corpus()[:16]):
        (corpus / f"doc{i:02d}.txt").write_text(record.text, encoding="utf-8")
    (corpus / "broken.json").write_text(
        '{"text": "cut sh', encoding="utf-8"
    )  # quarantined by its source
    files = {}
    for runner in ("local", "ray"):
        overrides = {
            "corpus": [str(corpus)],
            "base_model": str(tiny_model),
            "runner": runner,
            "shard_records": 3,
            "cleaners": ["normalize", "pii-scrub", "low-information", "exact-dedup"],
            "run_dir": str(tmp_path / runner),
            "evaluators": [],
            "exporters": [],
            "forgetting": False,
        }
        config, _ = resolve_config(kinject_plugins, overrides=overrides)
        prepare_run(open_run(config, kinject_plugins, None, show_progress=False))
        run = tmp_path / runner
        written = [*sorted((run / "data").glob("*.jsonl")), run / "quarantine.jsonl"]
        files[runner] = {p.name: p.read_bytes() for p in written}
    assert files["ray"] == files["local"]
    assert {"sources.jsonl", "cleaners.jsonl", "augmenters.jsonl", "train.jsonl"} <= set(
        files["local"]
    )
    assert b'"reason": "malformed_json"' in files["ray"]["quarantine.jsonl"]


# -- augmenters -----------------------------------------------------------------------------------


class SentenceQA(Augmenter):
    """A document-local augmenter: a QA pair per sentence of each Record, counted by document."""

    name = "sentence-qa"
    per_document = True

    def augment(self, records: Sequence[Record]) -> Iterator[Record]:
        written: Counter[str] = Counter()
        for record in records:
            uri = str(record.source.get("uri", ""))
            for n, sentence in enumerate(s for s in record.text.split(". ") if s.strip()):
                written[uri] += 1
                meta = {"question": f"What does sentence {n} of {uri} say?", "answer": sentence}
                yield record.derive(sentence, self.name, kind="qa", meta=meta)
        self.stats = {"records_written": sum(written.values()), "documents": len(written)}


class SentenceQAPlugin:
    @hookimpl
    def register_augmenters(self, register: Callable[..., Any]) -> None:
        register(SentenceQA)


def test_document_groups_cut_only_between_documents() -> None:
    records = _corpus()  # 16 one-Record documents, then a report of 4 pages
    groups = document_groups(records, 3)
    assert groups is not None and [r for g in groups for r in g] == records
    assert [len(g) for g in groups] == [3, 3, 3, 3, 3, 1 + 4]  # the pages stay together
    assert document_groups([*records, records[0]], 3) is None  # mem://0 is not consecutive


def test_stats_of_groups_add_up() -> None:
    parts = [{"n": 2, "dropped": {"a": 1}, "backend": "rules"}, {"n": 3, "dropped": {"b": 2}}]
    assert add_stats(parts) == {"n": 5, "dropped": {"a": 1, "b": 2}, "backend": "rules"}


def _prepare_twice(
    plugins: Plugins, model: Path, tmp_path: Path, augmenters: list[Any]
) -> tuple[dict[str, dict[str, bytes]], dict[str, dict[str, Any]]]:
    """``inject prepare`` over 12 documents with ``runner: local`` and ``runner: ray`` (3 Records
    a shard): each runner's ``data/*.jsonl`` bytes and its augmenters' manifest entries."""
    from kinject.commands import prepare_run
    from kinject.runs import open_run, resolve_config

    corpus = tmp_path / "corpus"
    corpus.mkdir(exist_ok=True)
    for i, record in enumerate(_corpus()[:12]):
        (corpus / f"doc{i:02d}.txt").write_text(record.text, encoding="utf-8")
    files, produced = {}, {}
    for runner in ("local", "ray"):
        overrides = {
            "corpus": [str(corpus)],
            "base_model": str(model),
            "runner": runner,
            "shard_records": 3,
            "cleaners": ["normalize"],
            "augmenters": augmenters,
            "run_dir": str(tmp_path / runner),
            "evaluators": [],
            "exporters": [],
            "forgetting": False,
        }
        config, _ = resolve_config(plugins, overrides=overrides)
        prepare_run(open_run(config, plugins, None, show_progress=False))
        run = tmp_path / runner
        files[runner] = {p.name: p.read_bytes() for p in sorted((run / "data").glob("*.jsonl"))}
        manifest = json.loads((run / "manifest.json").read_text())
        produced[runner] = manifest["stages"]["augmenters"]["produced"]
    return files, produced


@pytest.mark.usefixtures("local_ray")
def test_prepare_shards_per_document_augmenters_on_ray(
    kinject_plugins: Plugins,
    tiny_model: Path,
    tmp_path: Path,
    register_plugin: Callable[..., Any],
) -> None:
    register_plugin(SentenceQAPlugin(), name="sentence-qa")
    terms = tmp_path / "terms.yaml"
    terms.write_text(
        "terms:\n- {term: deposit, definition: money held as security, synonyms: [security]}\n"
        "- {term: landlord, definition: the owner who lets a property, synonyms: [lessor]}\n",
        encoding="utf-8",
    )
    # synonym first: its copies then follow every document, so sentence-qa's documents are no
    # longer consecutive and it runs in the driver (both still byte-identical)
    synonym = {"name": "synonym", "options": {"terms_file": str(terms)}}
    files, produced = _prepare_twice(
        kinject_plugins, tiny_model, tmp_path, [synonym, "sentence-qa"]
    )
    assert files["ray"] == files["local"]
    assert b"What does sentence 1 of" in files["ray"]["augmenters.jsonl"]
    assert b"lessor" in files["ray"]["augmenters.jsonl"]  # synonym wrote copies
    assert produced["ray"]["synonym"].pop("runs_on") == "ray, 4 groups of documents"
    assert produced["ray"]["sentence-qa"].pop("runs_on") == "driver"
    assert produced["ray"] == produced["local"]


@pytest.mark.usefixtures("local_ray")
def test_prepare_runs_the_rules_backends_on_ray_by_document(
    kinject_plugins: Plugins, tiny_model: Path, tmp_path: Path
) -> None:
    """paraphrase, then qa-generate (as the packs chain them): both on Ray, group by group, though
    the rewrites paraphrase appends follow every document; the data files are the local ones."""
    files, produced = _prepare_twice(
        kinject_plugins, tiny_model, tmp_path, ["paraphrase", "qa-generate"]
    )
    assert files["ray"] == files["local"]
    assert b'"qa-generate"' in files["ray"]["augmenters.jsonl"]
    for name in ("paraphrase", "qa-generate"):
        assert produced["ray"][name].pop("runs_on").startswith("ray, "), name
    assert produced["ray"] == produced["local"]
