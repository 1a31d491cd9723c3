from typing import Any

import pytest

from kinject.context import RunContext
from kinject.errors import PluginError
from kinject.records import Record


def test_offline_without_translator_refuses_at_setup(run_context: RunContext) -> None:
    augmenter = run_context.plugins.create("augmenter", "back-translate", {})
    with pytest.raises(
        PluginError, match="back-translate needs an endpoint or a translation model"
    ):
        augmenter.setup(run_context)


def test_missing_model_directory(run_context: RunContext) -> None:
    augmenter = run_context.plugins.create(
        "augmenter", "back-translate", {"model_path": "/nope", "reverse_model_path": "/nope2"}
    )
    with pytest.raises(PluginError, match="/nope"):
        augmenter.setup(run_context)


def test_round_trip_through_endpoint_is_fact_checked(
    run_context: RunContext, fake_endpoint: Any
) -> None:
    def reply(body: dict[str, Any]) -> str:
        prompt = body["messages"][1]["content"]
        if prompt.startswith("Translate into German"):
            return (
                "Die Höchstdosis von Veltrane beträgt 40 mg."
                if "40 mg" in prompt
                else "Der Preis ist 450 Kronen."
            )
        return (
            "Veltrane's highest dose is 40 mg." if "40 mg" in prompt else "The price is 460 crowns."
        )

    server = fake_endpoint(reply)
    augmenter = run_context.plugins.create(
        "augmenter", "back-translate", {"base_url": server.base_url, "model": "m"}
    )
    augmenter.setup(run_context)
    records = [
        Record(text="The maximum dose of Veltrane is 40 mg."),
        Record(text="The price is 450 crowns."),
    ]
    out = list(augmenter.augment(records))
    assert [r.text for r in out] == ["Veltrane's highest dose is 40 mg."]
    assert out[0].meta["pivot"] == "German"
    assert augmenter.stats["rejected"] == {"fact_changed": 1}
    assert len(server.requests) == 4
