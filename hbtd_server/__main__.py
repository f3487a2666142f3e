"""``python -m hbtd_server`` is ``hbtd``."""

from ._entry import run

run()
