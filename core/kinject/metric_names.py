"""What a metric is called in a report: human names for the builtin evaluators' main metrics.

A plugin's metrics get a readable name built from the evaluator and metric names
(``count-params.n_params`` reads "Count params: n params"); the raw names stay in the reports'
"All metrics" table.
"""

from __future__ import annotations

#: the main metrics of the builtin evaluators, in the order a report shows them
MAIN_METRICS: dict[str, str] = {
    "knowledge-qa.accuracy": "Domain knowledge, held-out questions",
    "knowledge-qa.em": "Domain knowledge, generated answer exactly right",
    "knowledge-qa.contains": "Domain knowledge, generated answer contains the reference",
    "retention.accuracy": "General knowledge retained",
    "rubric.score": "Domain rubric score",
    "rubric.pass_rate": "Answers passing every rubric check",
    "perplexity.perplexity": "Perplexity of the reference answers (lower is better)",
    "perplexity.text_perplexity": "Perplexity of held-out domain text (lower is better)",
    "overlap.bleu": "Overlap with the reference answer (BLEU-4)",
    "overlap.rouge_l": "Overlap with the reference answer (ROUGE-L)",
    "semantic.cosine": "Meaning close to the reference answer (cosine)",
    "term-f1.f1": "Domain terms used as in the reference (F1)",
    "latency.ttft_ms": "Time to first token (ms)",
    "latency.tokens_per_s": "Generation speed (tokens/s)",
}

#: the measures a training reports (``metrics["train"]``), as a report names them
TRAINING_MEASURES: dict[str, str] = {
    "steps": "Optimiser steps",
    "train_time_s": "Training time (s)",
    "train_tokens": "Tokens trained on (all epochs)",
    "tokens_per_s": "Tokens per second",
    "tokens": "Training text (tokens)",
    "tokens_truncated": "Tokens beyond max_length (not trained on)",
    "final_train_loss": "Final training loss",
    "mean_train_loss": "Mean training loss",
    "eval_loss": "Loss on held-out training records",
    "trainable_params": "Trainable parameters",
    "total_params": "Parameters",
    "peak_memory_mb": "Peak memory (MB)",
    "dp_epsilon": "Privacy spent: epsilon (DP-SGD)",
    "dp_delta": "Privacy: delta (DP-SGD)",
    "dp_noise_multiplier": "Noise multiplier (DP-SGD)",
    "dp_max_grad_norm": "Per-sample clipping norm (DP-SGD)",
    "dp_sample_rate": "Sampling rate per step (DP-SGD)",
    "dp_steps": "Noisy steps (DP-SGD)",
    "dp_rows": "Training rows (DP-SGD)",
}

#: evaluators whose metrics not in MAIN_METRICS are details (shown only under "All metrics")
BUILTIN_EVALUATORS = frozenset(key.split(".", 1)[0] for key in MAIN_METRICS)

#: counts and timings, not results
BOOKKEEPING = ("n", "seconds", "tokens", "applied", "new_tokens")


def human_name(key: str) -> str:
    """The name a reader sees for a flat metric key."""
    if key in MAIN_METRICS:
        return MAIN_METRICS[key]
    evaluator, _, metric = key.partition(".")
    words = metric.replace("_", " ").replace(".", ", ")
    return f"{evaluator.replace('-', ' ').capitalize()}: {words}" if words else evaluator


def is_bookkeeping(key: str) -> bool:
    last = key.rsplit(".", 1)[-1]
    return last in BOOKKEEPING or last.startswith("n_") or last.endswith("_tokens")


def main_metrics(keys: list[str]) -> list[str]:
    """The metrics a report's results table shows: builtin main metrics, then a plugin's top-level
    ones.
    """
    present = set(keys)
    out = [k for k in MAIN_METRICS if k in present]
    plugin = sorted(
        k
        for k in present
        if k.count(".") == 1
        and k.split(".", 1)[0] not in BUILTIN_EVALUATORS
        and not is_bookkeeping(k)
    )
    return out + plugin
