"""``python -m evgen.cli``: the same as the ``evgen`` command."""

from evgen.cli import main

main()
