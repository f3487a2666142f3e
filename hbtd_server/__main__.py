"""``python -m hbtd_server`` is ``hbtd``."""

from .cli import main

main()
