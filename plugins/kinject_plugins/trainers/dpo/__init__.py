"""``dpo``: preference training without a reward model: TRL's DPO (or KTO, ORPO) on LoRA.

One run, top to bottom (every artefact under the job's output directory):

1. the starting policy: ``init_adapter:`` (a finished run or an adapter folder), else the ``sft``
   row ``inject compare`` hands over (``TrainJob.prior["sft"]``), else the base model. An SFT
   adapter is merged into the base once and saved as ``sft_model/`` (as rlhf does).
2. preference pairs from rlhf's three sources (:func:`~kinject_plugins.trainers.ppo.preferences.
   collect_pairs`): ``preference`` records of the ``negatives`` augmenter, the domain rubric's
   pairs, a ``preferences:`` JSONL file; ``held_out_ratio`` of the prompts is held out.
3. TRL's ``DPOTrainer`` (``KTOTrainer``, or ``trl.experimental``'s ``ORPOTrainer``) with a fresh
   LoRA adapter on the starting policy; the reference is the same model with the adapter
   disabled, so there is no second copy in memory. Checkpoints every ``save_steps``;
   ``job.resume`` continues from the last complete one.
4. ``final/``: the adapter on the starting model, an ordinary "base + adapter" result; on the
   held-out pairs, preference accuracy and mean reward margin of the implicit reward
   (:mod:`~kinject_plugins.trainers.dpo.held_out`).

The same class is registered three times: ``dpo``, ``kto`` and ``orpo`` (``method:`` picks).
"""

from kinject_plugins.trainers.dpo.options import DPOOptions, KTOOptions, ORPOOptions
from kinject_plugins.trainers.dpo.trainer import DPOTrainer, KTOTrainer, ORPOTrainer

__all__ = ["DPOOptions", "DPOTrainer", "KTOOptions", "KTOTrainer", "ORPOOptions", "ORPOTrainer"]
