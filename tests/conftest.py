"""Fixtures shared by every test folder."""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator

import pytest

from tests.cli_support import quiet_hbtd_cli


def pytest_configure(config: pytest.Config) -> None:
    """Let the programs the tests start see Ctrl-C, however the suite itself was started.

    A shell without job control starts a background command (``scripts/test &``) with SIGINT
    ignored, and an ignored signal stays ignored across exec: every hbtd and hb-sim the tests
    start would ignore the SIGINT that the Ctrl-C tests send, and those tests would time out.
    A handler (unlike SIG_IGN) is reset to the default at exec, so installing Python's own
    gives the children an operator's terminal's default.
    """
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def quiet_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """``hbtd``'s command without its process-wide set-up (see ``tests/cli_support.py``)."""
    quiet_hbtd_cli(monkeypatch)


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """Put the root logger's handlers and level, and hbtd's level, back after the test."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogger("hbtd").level
    yield
    root.handlers[:], root.level = saved[0], saved[1]
    logging.getLogger("hbtd").setLevel(saved[2])
