"""The pieces of the ``rlhf`` strategy, one concern per module.

- ``preferences``: preference pairs from records, the domain rubric and JSONL files; rollout
  prompts.
- ``reward_model``: TRL ``RewardTrainer`` on a one-output sequence classifier; pairwise accuracy.
- ``ppo_math``: GAE, whitening, clipped surrogate, value clipping, KL estimators, β controllers.
- ``rollouts``: sampling answers and scoring their tokens (log-probs, entropy, values).
- ``ppo_loop``: the PPO loop with logs and resumable checkpoints.
- ``policy``: the SFT model as reference, the policy adapter, the reward function, before/after.
- ``grpo``: the same reward through TRL's ``GRPOTrainer``.
"""
