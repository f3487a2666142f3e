"""Fixtures shared by every test folder."""

from __future__ import annotations

import pytest

from tests.cli_support import quiet_hbtd_cli


@pytest.fixture
def quiet_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """``hbtd``'s command without its process-wide set-up (see ``tests/cli_support.py``)."""
    quiet_hbtd_cli(monkeypatch)
