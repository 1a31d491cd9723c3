"""Builtin commands for plugin authors (``inject plugin new``)."""
