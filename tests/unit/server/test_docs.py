"""Docs generated from code stay in step with it."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from hbtd_server import cli
from hbtd_server.core import state_diagram
from tests import REPO

DOCS = REPO / "docs"


def test_state_diagram_page_shows_the_transition_table() -> None:
    assert state_diagram() in (DOCS / "states.md").read_text()


def test_configuration_page_lists_every_flag_of_hbtd_help() -> None:
    # #15: each option line of `hbtd --help` starts with its flags; the page's tables name
    # each flag (first spelling) in backticks in their second column.
    help_text = CliRunner().invoke(cli.main, ["--help"]).output
    in_help = set(re.findall(r"^  (?:-\w, )?(--[\w-]+)", help_text, flags=re.MULTILINE))
    page = (DOCS / "configuration.md").read_text()
    rows = [line.split("|") for line in page.splitlines() if line.startswith("| ")]
    in_page = {
        match for row in rows if len(row) > 3 for match in re.findall(r"`(--[\w-]+)`", row[2])
    }
    assert in_help == in_page
    assert {"--log-format", "--metrics", "--certfile", "--admin-token-file", "--protect"} <= in_page


def test_no_doc_refers_to_a_file_outside_the_repository() -> None:
    # #15: facts from elsewhere are carried over into docs/, not pointed at.
    outside = re.compile(
        r"(?<!\.)\.\./|shared/reference|hsm-upstream-facts|hbtd-upstream-behavior|stack-performance"
    )
    repo = DOCS.parent
    pages = [*DOCS.glob("*.md"), repo / "README.md"]
    # Code and tests too: a docstring that cites a file the reader does not have helps no one.
    for folder in ("hbtd_server", "hb_agent", "hb_sim", "tests", "bench", "scenarios", "configs"):
        pages += [p for p in (repo / folder).rglob("*") if p.suffix in {".py", ".yaml", ".md"}]
    for page in pages:
        if page.resolve() == Path(__file__).resolve():
            continue
        for number, line in enumerate(page.read_text().splitlines(), 1):
            assert not outside.search(line), f"{page.relative_to(repo)}:{number}: {line}"
