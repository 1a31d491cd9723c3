"""``python -m kinject``: the ``inject`` command."""

from kinject.cli import main

main()
