from pathlib import Path

import pytest

from kinject.config import Step, build_config, check_plugins, load_yaml, merge, merge_recipe
from kinject.errors import ConfigError
from kinject.plugins import Plugins


def test_steps_accept_names_and_mappings() -> None:
    cfg = build_config(
        {
            "cleaners": [
                "normalize",
                {"name": "near-dedup", "threshold": 0.8},
                {"pii-scrub": {"emails": True}},
            ]
        }
    )
    assert cfg.cleaners == [
        Step(name="normalize"),
        Step(name="near-dedup", options={"threshold": 0.8}),
        Step(name="pii-scrub", options={"emails": True}),
    ]


def test_every_schema_problem_listed_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        build_config({"seed": "abc", "strategyy": "sft", "holdout_fraction": 2}, source="r.yaml")
    assert len(err.value.problems) == 3
    assert "r.yaml: 3 problems" in str(err.value)


def test_merge_later_layers_win_and_nested_merge() -> None:
    merged = merge(
        {"trainer": {"lr": 1, "epochs": 2}, "seed": 1}, {"trainer": {"lr": 3}}, {"seed": None}
    )
    assert merged == {"trainer": {"lr": 3, "epochs": 2}, "seed": 1}


def test_trainer_options_stay_with_the_strategy_they_were_written_for() -> None:
    pack = {
        "strategy": "sft",
        "trainer": {"epochs": 1, "max_length": 128},
        "strategy_options": {"ewc": {"epochs": 2, "ewc_lambda": 50}},
    }
    assert merge_recipe(pack, {})["trainer"] == {"epochs": 1, "max_length": 128}
    # switching strategy drops the sft-only block and brings in that strategy's own options
    assert "trainer" not in merge_recipe(pack, {"strategy": "rag"})
    assert merge_recipe(pack, {"strategy": "ewc"})["trainer"] == {"epochs": 2, "ewc_lambda": 50}
    # options given without a strategy (--set trainer.x=...) apply to whichever one is chosen, and
    # win
    chosen = merge_recipe(pack, {"strategy": "ewc"}, {"trainer": {"epochs": 3}})
    assert chosen["trainer"] == {"epochs": 3, "ewc_lambda": 50}
    # a layer that names the same strategy keeps its block
    assert merge_recipe(pack, {"strategy": "sft", "trainer": {"epochs": 4}})["trainer"] == {
        "epochs": 4,
        "max_length": 128,
    }


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("strategy: sft\ncleaners: [normalize\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml.*invalid YAML \(line"):
        load_yaml(path)


def test_unknown_plugins_and_bad_options_all_reported(kinject_plugins: Plugins) -> None:
    cfg = build_config(
        {
            "strategy": "no-such-strategy",
            "cleaners": ["no-such-cleaner"],
            "evaluators": [],
            "exporters": [],
            "augmenters": [],
        }
    )
    with pytest.raises(ConfigError) as err:
        check_plugins(cfg, kinject_plugins)
    text = str(err.value)
    assert "unknown trainer 'no-such-strategy'" in text
    assert "unknown cleaner 'no-such-cleaner'" in text
