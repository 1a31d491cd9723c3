"""Builtin cleaners: each module holds one component; this hook registers them all.

A cleaner keeps, changes or drops Records; every drop is a :class:`kinject.records.Rejected`
with a reason code (``exact_duplicate``, ``near_duplicate``, ``low_information``, ``too_short``,
``pii``, ``language``, ``rule:<id>``, ``contaminated``, ...) that the engine counts and
quarantines. See ``docs/cleaners.md``.
"""

from __future__ import annotations

from kinject import hookimpl
from kinject.hookspecs import Register


@hookimpl
def register_cleaners(register: Register) -> None:
    # Imports stay inside the hook so loading the plugin is cheap (no torch, no faiss).
    from kinject_plugins.cleaners.decontaminate import Decontaminate
    from kinject_plugins.cleaners.exact_dedup import ExactDedup
    from kinject_plugins.cleaners.language import Language
    from kinject_plugins.cleaners.length import Length
    from kinject_plugins.cleaners.low_information import LowInformation
    from kinject_plugins.cleaners.near_dedup import NearDedup
    from kinject_plugins.cleaners.normalize import Normalize
    from kinject_plugins.cleaners.pii_scrub import PiiScrub
    from kinject_plugins.cleaners.rules import Rules
    from kinject_plugins.cleaners.standardize import Standardize

    for cleaner in (
        Normalize,
        Standardize,
        ExactDedup,
        NearDedup,
        LowInformation,
        PiiScrub,
        Language,
        Rules,
        Decontaminate,
        Length,
    ):
        register(cleaner)
