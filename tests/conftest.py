"""Fixtures shared by every test folder."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.cli_support import quiet_hbtd_cli


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
