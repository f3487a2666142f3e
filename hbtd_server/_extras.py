"""Is an extra of hbtd-py installed? Asked before a program loads what the extra brings.

The bare package is the node agent's; ``hbtd`` needs ``[server]`` and ``hb-sim`` needs
``[sim]``. Without them the first import deep in the web stack would fail with a traceback
that names a module, not what to install. The requirements are read from the installed
package's metadata, so this follows pyproject.toml without a list of its own. Standard library
only: it runs before anything heavy is imported.
"""

from __future__ import annotations

import re
from importlib import metadata

__all__ = ["missing_for_extra"]

_PROJECT = "hbtd-py"
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def missing_for_extra(extra: str, *, project: str = _PROJECT) -> str | None:
    """The first distribution that ``project[extra]`` needs and that is not installed.

    Args:
        extra: the extra's name (``server``, ``sim``).
        project: the installed distribution whose extra it is.

    Returns:
        That distribution's name, or None when all are there, or when ``project`` itself is
        not installed (a source tree run as it is: nothing to go by, so nothing is claimed).
    """
    try:
        requirements = metadata.requires(project) or []
    except metadata.PackageNotFoundError:
        return None
    marker = re.compile(rf"""extra\s*==\s*["']{re.escape(extra)}["']""")
    for requirement in requirements:
        spec, _, condition = requirement.partition(";")
        if not marker.search(condition):
            continue
        match = _NAME.match(spec)
        if match is None:
            continue
        name, extras = match.group(1), match.group(2)
        if _normal(name) == _normal(project):  # hbtd-py[server] within [sim]
            for inner in (extras or "").split(","):
                missing = missing_for_extra(inner.strip(), project=project) if inner else None
                if missing is not None:
                    return missing
            continue
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            return name
    return None
