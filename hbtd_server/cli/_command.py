"""The command line that starts ``hbtd`` as a process of its own (tests, benchmarks, hb-sim,
``--workers``): one definition, so every launcher runs the tracker the same way."""

from __future__ import annotations

import sys

__all__ = ["hbtd_command"]


def hbtd_command(*args: str, host: str | None = "127.0.0.1", port: int | None = None) -> list[str]:
    """``hbtd`` with this interpreter: ``python -m hbtd_server [--host H] [--port P] ARGS``.

    Args:
        args: further flags.
        host: the address to listen on; None leaves the flag out.
        port: the port to listen on; None leaves the flag out.

    Returns:
        The argument list for ``subprocess`` or ``trio.run_process``.
    """
    command = [sys.executable, "-m", "hbtd_server"]
    if host is not None:
        command += ["--host", host]
    if port is not None:
        command += ["--port", str(port)]
    return [*command, *args]
