"""``hbtd``'s exit codes (docs/operations.md, "Exit codes"), apart from the command line so
the light entry point (``_entry``) and the command (``cli``) share them without one importing
the other."""

from __future__ import annotations

__all__ = ["EXIT_CANNOT_START", "EXIT_INTERRUPTED", "EXIT_USAGE"]

#: The service could not start (a port in use, a store that does not answer, ...).
EXIT_CANNOT_START = 1
#: A bad setting, or a missing extra: what a restart cannot fix (as click's usage errors).
EXIT_USAGE = 2
#: As a shell reports a process stopped by SIGINT: Ctrl-C before the service was up.
EXIT_INTERRUPTED = 130
