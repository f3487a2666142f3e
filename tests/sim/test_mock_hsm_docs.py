"""docs/mock-hsm.md shows the start-state table the model uses."""

from __future__ import annotations

import re

from hb_sim.hsm import START_STATES
from tests import REPO

DOC = REPO / "docs" / "mock-hsm.md"


def test_documented_table_matches_the_model() -> None:
    text = DOC.read_text()
    table = text.split("<!-- start-state table")[1].split("<!-- end start-state table")[0]
    rows = re.findall(r"^\| (\w+) \| ([^|]+) \|$", table, flags=re.MULTILINE)
    documented = {
        target: () if allowed.startswith("none") else tuple(allowed.strip().split(", "))
        for target, allowed in rows
        if target != "Target"
    }
    assert documented == START_STATES
