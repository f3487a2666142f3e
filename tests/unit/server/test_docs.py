"""Docs generated from code stay in step with it."""

from __future__ import annotations

from pathlib import Path

from hbtd_server.core import state_diagram

DOCS = Path(__file__).resolve().parents[3] / "docs"


def test_state_diagram_page_shows_the_transition_table() -> None:
    assert state_diagram() in (DOCS / "states.md").read_text()
