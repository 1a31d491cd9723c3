"""Builtin augmenters: each module holds one component; this hook registers them all.

All of them work offline by default (rule and template backends, deterministic with the run
seed). ``paraphrase``, ``qa-generate`` and ``back-translate`` can also use any OpenAI-compatible
endpoint (``backend: endpoint``); ``paraphrase`` and ``qa-generate`` the local base model
(``backend: local``). After ``augment``, each exposes ``stats`` (fact coverage and counts) for the
run manifest. See docs/augmenters.md.
"""

from __future__ import annotations

from kinject import hookimpl
from kinject.hookspecs import Register


@hookimpl
def register_augmenters(register: Register) -> None:
    # Imports stay inside the hook so loading the plugin is cheap.
    from kinject_plugins.augmenters.back_translate import BackTranslate
    from kinject_plugins.augmenters.eval_questions import EvalQuestions
    from kinject_plugins.augmenters.negatives import Negatives
    from kinject_plugins.augmenters.paraphrase import Paraphrase
    from kinject_plugins.augmenters.qa_generate import QAGenerate
    from kinject_plugins.augmenters.synonym import Synonym
    from kinject_plugins.augmenters.term_qa import TermQA

    for component in (
        Paraphrase,
        QAGenerate,
        TermQA,
        Synonym,
        BackTranslate,
        Negatives,
        EvalQuestions,
    ):
        register(component)
