"""The generator backends behind paraphrase and qa-generate: endpoint (retries, concurrency, cache),
a local model, the recipe's ``augment:`` defaults, and the rules backend on real reports."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from kinject.config import RunConfig
from kinject.context import RunContext
from kinject.records import Record
from kinject_plugins.augmenters.endpoint import (
    CachedCompleter,
    EndpointClient,
    GenerationCache,
    Request,
)
from kinject_plugins.augmenters.filters import grounded
from kinject_plugins.augmenters.subject import Subject, names_subject

QA_REPLY = (
    "Q: What is the maximum daily dose of Veltrane?\nA: 40 mg\nQ: When was the Corvell "
    "Water Act enacted?\nA: 14 March 2011"
)


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KINJECT_HOME", str(tmp_path / "home"))


def run(
    context: RunContext, name: str, records: list[Record], **options: Any
) -> tuple[Any, list[Record]]:
    augmenter = context.plugins.create("augmenter", name, options)
    augmenter.setup(context)
    return augmenter, list(augmenter.augment(records))


def test_endpoint_retries_what_a_server_may_answer_later(fake_endpoint: Any) -> None:
    answers = iter([503, 429, "fine"])
    server = fake_endpoint(lambda body: next(answers))
    client = EndpointClient(server.base_url, "m", retries=2)
    assert client.complete("s", "u") == "fine" and client.calls == 3


def test_endpoint_requests_run_concurrently_in_order(fake_endpoint: Any) -> None:
    server = fake_endpoint(lambda body: body["messages"][0]["content"].upper())
    client = EndpointClient(server.base_url, "m", concurrency=4)
    requests = [Request.chat([{"role": "user", "content": f"n{i}"}]) for i in range(12)]
    assert client.complete_many(requests) == [f"N{i}" for i in range(12)]


def test_a_rerun_makes_no_new_calls(
    run_context: RunContext, corpus: list[Record], fake_endpoint: Any
) -> None:
    server = fake_endpoint(lambda body: QA_REPLY)
    options = {"backend": "endpoint", "base_url": server.base_url, "model": "m"}
    first, out = run(run_context, "qa-generate", corpus, **options)
    calls = len(server.requests)
    again, out_again = run(run_context, "qa-generate", corpus, **options)
    assert calls == 1 and len(server.requests) == calls
    assert [r.text for r in out] == [r.text for r in out_again]
    assert (
        first.stats["generated"] == 1
        and again.stats["cache_hits"] == 1
        and again.stats["calls"] == 0
    )


def test_cache_keys_follow_the_sample(tmp_path: Path) -> None:
    class Echo:
        identity = "echo"
        calls = 0

        def complete_many(self, requests: Any) -> list[str]:
            self.calls += len(requests)
            return [f"{r.messages[0][1]}#{r.sample}" for r in requests]

    cached = CachedCompleter(Echo(), GenerationCache(tmp_path / "c.sqlite"))
    asks = [Request((("user", "a"),), sample) for sample in (0, 1, 0)]
    assert cached.complete_many(asks) == ["a#0", "a#1", "a#0"]
    assert (
        cached.complete_many(asks[:2]) == ["a#0", "a#1"] and cached.misses == 3 and cached.hits == 2
    )


def test_recipe_augment_defaults_choose_the_backend(
    tmp_path: Path, kinject_plugins: Any, corpus: list[Record], fake_endpoint: Any
) -> None:
    server = fake_endpoint(lambda body: QA_REPLY)
    config = RunConfig(augment={"backend": "endpoint", "base_url": server.base_url, "model": "m"})
    context = RunContext(
        run_dir=tmp_path / "run", config=config, plugins=kinject_plugins, show_progress=False
    )
    augmenter, out = run(context, "qa-generate", corpus)
    assert augmenter.opts.backend == "endpoint" and server.requests
    assert {r.meta["answer"] for r in out} == {"40 mg", "14 March 2011"}
    # an augmenter's own option wins over the recipe's default
    rules, _ = run(context, "qa-generate", corpus, backend="rules")
    assert rules.opts.backend == "rules"


def test_model_backend_end_to_end_through_the_filters(
    run_context: RunContext, corpus: list[Record], tiny_model: Path
) -> None:
    """A tiny random model writes nonsense: the filters drop what is not grounded, structural
    rewrites still give every fact its phrasings."""
    options = {"backend": "model", "model": str(tiny_model), "max_tokens": 24, "batch_size": 4}
    qa, pairs = run(run_context, "qa-generate", corpus, **options)
    assert qa.stats["generated"] == 1 and qa.stats["backend"] == "model"
    assert all(grounded(r.meta["answer"], corpus[0].text) for r in pairs)
    titled = [
        Record(
            text=corpus[0].text,
            source=corpus[0].source,
            meta={"title": "Water and medicines notes"},
        )
    ]
    para, rewrites = run(run_context, "paraphrase", titled, k=2, **options)
    assert para.stats["generated"] == 2  # two short paragraphs make one piece: k samples of it
    assert para.stats["facts_at_k_share"] == 1.0 and rewrites


def test_rules_backend_on_reports_it_was_not_tuned_on(
    run_context: RunContext, tatqa_held_out: list[tuple[Record, list[dict[str, Any]]]]
) -> None:
    records = [record for record, _ in tatqa_held_out]
    qa, pairs = run(run_context, "qa-generate", records)
    para, rewrites = run(run_context, "paraphrase", records)
    by_id = {r.id: r for r in records}
    assert pairs and rewrites
    assert all(grounded(r.meta["answer"], by_id[r.meta["source_id"]].text) for r in pairs)
    assert qa.stats["named_subject_share"] >= 0.9
    assert para.stats["facts_at_k_share"] >= 0.8
    title = {r.id: Subject("", str(r.meta["title"]), "title") for r in records}
    assert sum(
        names_subject(r.meta["question"], title[r.meta["source_id"]]) for r in pairs
    ) >= 0.9 * len(pairs)
    per_document = Counter((r.meta["source_id"], r.meta["answer"]) for r in pairs)
    assert max(per_document.values()) <= qa.opts.filters.min_per_answer
    assert all(
        len(r.meta["question"].split()) <= qa.opts.filters.max_question_words + 12 for r in pairs
    )
