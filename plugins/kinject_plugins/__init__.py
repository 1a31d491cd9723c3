"""The builtin plugins of kinject, registered exactly like third-party ones.

Each subpackage (``sources``, ``cleaners``, ``augmenters``, ``trainers``, ``evaluators``,
``exporters``, ``observers``) is one plugin listed in :data:`kinject.plugins.DEFAULT_PLUGINS`.
"""
