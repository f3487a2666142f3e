"""``python -m hb_agent``: the same as the ``hb-agent`` command."""

from .cli import main

main()
