"""Which YAML files are scenarios: decided by their content, cheaply, without a YAML parser.

Used where many files pass by (pytest's collection, ``hb-sim run FOLDER``), so other YAML in
a tree (Kubernetes manifests, OpenAPI documents, CI files) is left alone. A scenario is a
mapping with the three required keys ``name``, ``duration`` and ``fleet``; in block style,
as every shipped scenario is written, each starts a line at column 0. A scenario written as
one flow mapping is not recognised: name it explicitly, or configure a file pattern.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Final

__all__ = ["SUFFIXES", "looks_like_scenario", "scenario_files"]

#: The file names a scenario may have.
SUFFIXES: Final = (".yaml", ".yml")
_TOP_KEY: Final = re.compile(r"^(name|duration|fleet)[ \t]*:", re.MULTILINE)
#: Scenarios are small; a bigger YAML file is something else (and not worth reading).
MAX_BYTES: Final = 1 << 20


def looks_like_scenario(path: Path) -> bool:
    """Whether ``path`` is a YAML file whose top level has ``name``, ``duration`` and
    ``fleet`` (unreadable and very large files are not scenarios)."""
    if path.suffix not in SUFFIXES:
        return False
    try:
        if path.stat().st_size > MAX_BYTES:
            return False
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return False
    return {m.group(1) for m in _TOP_KEY.finditer(text)} == {"name", "duration", "fleet"}


def scenario_files(paths: Iterable[Path]) -> Iterator[Path]:
    """The scenario files among ``paths``: a folder's scenarios (searched recursively, by
    content, in sorted order), anything else as given (the loader says if it cannot be read).
    """
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and looks_like_scenario(p))
        else:
            yield path
