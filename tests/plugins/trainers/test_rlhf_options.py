"""The ``rlhf`` options: one section per stage, the defaults of before, the old flat keys for one
release."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from kinject.config import build_config, check_plugins
from kinject.errors import ConfigError
from kinject.plugins import Plugins, build_plugins
from kinject_plugins.trainers import rlhf
from kinject_plugins.trainers.ppo.settings import FLAT_KEYS
from kinject_plugins.trainers.rlhf import RLHFOptions

#: the flat options' defaults before they were nested (docs/strategies.md of that time)
FLAT_DEFAULTS = {
    "reward_base": None,
    "reward_method": "lora",
    "reward_lora_r": 16,
    "reward_learning_rate": 2e-4,
    "reward_epochs": 2.0,
    "reward_batch_size": 8,
    "max_length": 512,
    "steps": 20,
    "rollout_batch": 8,
    "minibatch_size": 4,
    "ppo_epochs": 2,
    "max_new_tokens": 32,
    "temperature": 1.0,
    "learning_rate": 5e-5,
    "lora_r": 16,
    "lora_alpha": 32,
    "target_modules": "all-linear",
    "clip_range": 0.2,
    "value_clip_range": 0.2,
    "vf_coef": 0.1,
    "entropy_coef": 0.0,
    "gamma": 1.0,
    "lam": 0.95,
    "kl_coef": 0.05,
    "adaptive_kl": False,
    "kl_target": 6.0,
    "kl_horizon": 10_000,
    "kl_estimator": "k1",
    "whiten_rewards": False,
    "max_grad_norm": 1.0,
    "num_generations": 4,
    "save_steps": 10,
}


@pytest.fixture(autouse=True)
def fresh_warnings() -> Iterator[None]:
    rlhf._warn_flat_keys.cache_clear()
    yield
    rlhf._warn_flat_keys.cache_clear()


def _read(options: RLHFOptions, target: str) -> object:
    section, field = target.split(".")
    return getattr(getattr(options, section), field)


def test_every_old_flat_key_has_a_home_with_its_old_default() -> None:
    assert set(FLAT_KEYS) == set(FLAT_DEFAULTS)
    defaults = RLHFOptions()
    for key, targets in FLAT_KEYS.items():
        for target in targets:
            assert _read(defaults, target) == FLAT_DEFAULTS[key], target


def test_grpo_defaults_are_what_the_flat_options_gave() -> None:
    grpo = RLHFOptions().grpo
    # prompts per step were rollout_batch // num_generations, iterations were ppo_epochs
    assert (grpo.prompts_per_step, grpo.iterations) == (8 // 4, 2)


def test_flat_keys_still_work_and_say_where_they_go(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kinject_plugins.trainers.rlhf"):
        flat = {
            "steps": 3,
            "rollout_batch": 4,
            "num_generations": 2,
            "ppo_epochs": 1,
            "reward_epochs": 1,
            "max_length": 128,
            "lora_r": 8,
        }
        options = RLHFOptions(**flat)
        RLHFOptions(**flat)  # checked, then read again by the trainer: one warning
    assert (options.ppo.steps, options.grpo.steps, options.ppo.rollout_batch) == (3, 3, 4)
    grpo = options.grpo
    assert (grpo.num_generations, grpo.prompts_per_step, grpo.iterations) == (2, 2, 1)
    assert (options.reward.epochs, options.reward.max_length, options.policy.lora_r) == (1, 128, 8)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1 and "\n" not in messages[0]  # once, on one line
    assert "ppo.steps, grpo.steps" in messages[0] and "reward.max_length" in messages[0]


def test_the_section_wins_over_a_flat_key() -> None:
    options = RLHFOptions(steps=3, ppo={"steps": 5})
    assert (options.ppo.steps, options.grpo.steps) == (5, 3)


def test_nested_options_give_no_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kinject_plugins.trainers.rlhf"):
        options = RLHFOptions(ppo={"steps": 4}, reward={"max_length": 64}, policy={"lora_r": 4})
    assert (options.ppo.steps, options.reward.max_length, options.policy.lora_r) == (4, 64, 4)
    assert options.rl is options.ppo and RLHFOptions(rl_algorithm="grpo").rl.steps == 20
    assert not caplog.records


def test_a_bad_option_in_a_section_is_named_with_its_path(kinject_plugins: Plugins) -> None:
    trainer = {"ppo": {"stepz": 1}, "reward": {"epochs": 0}}
    config = build_config({"strategy": "rlhf", "trainer": trainer})
    with pytest.raises(ConfigError) as caught:
        check_plugins(config, kinject_plugins, source="recipe.yaml")
    text = str(caught.value)
    assert "ppo.stepz: Extra inputs" in text
    assert "reward.epochs: Input should be greater than 0" in text


@pytest.mark.parametrize("pack", ["legal", "medical", "finance"])
def test_the_packs_budgets_are_nested(pack: str, caplog: pytest.LogCaptureFixture) -> None:
    plugins = build_plugins()
    domain = plugins.domains().get(pack).obj
    raw = domain.load_recipe()["strategy_options"]["rlhf"]
    with caplog.at_level(logging.WARNING, logger="kinject_plugins.trainers.rlhf"):
        options = RLHFOptions(**raw)
    assert not caplog.records, caplog.records
    ppo, grpo = options.ppo, options.grpo
    assert (ppo.steps, ppo.max_new_tokens, options.reward.max_length) == (10, 24, 128)
    assert (grpo.steps, grpo.max_new_tokens, options.reward.epochs) == (10, 24, 1)
