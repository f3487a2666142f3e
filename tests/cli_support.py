"""Running ``hbtd``'s command in process, without its process-wide set-up.

The command configures the root logger (pytest's own handlers must stay in place), raises the
open-file limit and tunes the garbage collector; tests that only check its flags leave those
out with :func:`quiet_hbtd_cli`, then call :func:`invoke_hbtd`.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from hbtd_server.cli import _main, main

__all__ = ["invoke_hbtd", "quiet_hbtd_cli"]


def quiet_hbtd_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leave out the command's logging set-up, open-file limit and garbage-collector tuning."""
    monkeypatch.setattr(_main, "configure_logging", lambda **_: None)
    monkeypatch.setattr(_main, "_raise_open_file_limit", lambda: None)
    monkeypatch.setattr(_main, "_tune_garbage_collector", lambda: None)


def invoke_hbtd(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run ``hbtd ARGS`` in process; returns its exit code and output."""
    result = CliRunner().invoke(main, list(args), env=env, prog_name="hbtd")
    return result.exit_code, result.output
