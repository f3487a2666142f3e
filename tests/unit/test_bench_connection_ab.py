"""``bench.connection_ab`` still drives this tree's heartbeat path (it reaches private modules)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

from bench import connection_ab
from tests import REPO

COPY = "hbtd_server_ab_copy"


@pytest.fixture
def importable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.split(".")[0] == COPY]:
        del sys.modules[name]


def test_a_copy_of_this_tree_answers_and_accepts_every_heartbeat(importable: Path) -> None:
    tree = connection_ab.load_tree(COPY, REPO, importable)
    requests = connection_ab.prepared_requests(40)
    # per_heartbeat_us exits if a heartbeat went unanswered or was not accepted.
    micros = trio.run(connection_ab.per_heartbeat_us, tree, requests)
    assert 0 < micros < 1_000_000


def test_fewer_than_two_trees_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["connection_ab", "main=."])
    with pytest.raises(SystemExit) as exit_:
        connection_ab.main()
    assert exit_.value.code == 2
    assert "give two or more NAME=TREE" in capsys.readouterr().err
