"""Pages that list things stay in step with the things (#22)."""

from __future__ import annotations

import re
from collections import Counter

from tests import REPO


def test_each_shipped_scenario_is_listed_once() -> None:
    page = (REPO / "docs" / "scenarios.md").read_text()
    table = page.split("## Shipped scenarios", 1)[1].split("\n## ", 1)[0]
    listed = Counter(re.findall(r"^\| `([\w.-]+\.yaml)` \|", table, flags=re.MULTILINE))
    shipped = {path.name for path in (REPO / "scenarios").glob("*.yaml")}
    assert [name for name, count in listed.items() if count > 1] == []
    assert set(listed) == shipped
