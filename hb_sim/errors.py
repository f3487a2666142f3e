"""Errors raised by hb_sim.

::

    HbSimError               base of everything hb_sim raises on purpose
    ├── HsmProblem           an error answer of the mock HSM (HTTP status, title, detail)
    └── ScenarioError        a scenario is invalid; carries every ScenarioIssue found

Anything else escaping hb_sim is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus

__all__ = ["HbSimError", "HsmProblem", "ScenarioError", "ScenarioIssue"]


class HbSimError(Exception):
    """Base class of the errors hb_sim raises on purpose."""


class HsmProblem(HbSimError):
    """An error answer of the mock HSM, rendered as an RFC 7807 problem body.

    Args:
        status: the HTTP status HSM answers with.
        detail: the ``detail`` string, worded as real HSM words it.
    """

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail

    @property
    def title(self) -> str:
        """The reason phrase HSM puts in ``title``, e.g. ``Bad Request``."""
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return "Error"

    def to_json(self) -> dict[str, object]:
        """Return the problem body exactly as HSM writes it (``instance`` omitted)."""
        return {
            "type": "about:blank",
            "title": self.title,
            "detail": self.detail,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True)
class ScenarioIssue:
    """One thing wrong with a scenario, located in its file.

    Attributes:
        file: the scenario file as given by the user.
        line: 1-based line, or 0 when the issue concerns the whole file.
        column: 1-based column, or 0 when unknown.
        field: the dotted path of the offending field, e.g. ``timeline[2].at``.
        message: what was expected and what was found.
    """

    file: str
    line: int
    column: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else self.file
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class ScenarioError(HbSimError):
    """A scenario file is invalid.

    Args:
        issues: every problem found, in file order; never empty.
    """

    def __init__(self, issues: list[ScenarioIssue]) -> None:
        super().__init__("\n".join(str(issue) for issue in issues))
        self.issues = tuple(issues)
