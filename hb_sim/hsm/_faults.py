"""How the mock HSM misbehaves: the faults a scenario sets, and one request's decision."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final, Literal, get_args

from ..errors import HsmProblem

__all__ = ["NO_FAULT", "FaultDecision", "FaultMode", "Faults"]

#: The messages of refusals, by status.
_REFUSALS: Final = {
    400: "invalid xname ID",
    401: "Unauthorized (mock fault)",
    403: "Forbidden (mock fault)",
}

FaultMode = Literal["ok", "down", "unready", "error"]
_FAULT_MODES: Final = frozenset(get_args(FaultMode))


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """How the mock HSM misbehaves.

    Attributes:
        mode: ``ok`` behaves; ``down`` answers 503 at once (no latency) to everything under
            ``/hsm/v2``, readiness and liveness included; ``unready`` answers 503 to
            ``/service/ready`` only;
            ``error`` answers ``error_status`` to everything under ``/hsm/v2/State``.
        error_rate: in any mode, the probability that a ``/hsm/v2/State`` request that was
            not already failed answers ``error_status``; drawn from the model's seeded
            generator, so runs repeat.
        latency_ms: delay before every ``/hsm/v2`` answer, in milliseconds.
        error_status: the status of injected errors (400-599).
        refuse_ids: in any mode, a StateData PATCH that names one of these IDs is refused
            whole with ``refuse_status`` (HSM finding a malformed ID in a batch, or a gateway
            refusing some components); other PATCHes are handled.
        refuse_status: the status of those refusals (400-599; 400, 401 and 403 are the
            usual ones).
    """

    mode: FaultMode = "ok"
    error_rate: float = 0.0
    latency_ms: float = 0.0
    error_status: int = 500
    refuse_ids: frozenset[str] = frozenset()
    refuse_status: int = 400

    def __post_init__(self) -> None:
        if self.mode not in _FAULT_MODES:
            raise ValueError(f"mode must be one of ok, down, unready, error, not {self.mode!r}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError(f"error_rate must be between 0 and 1, not {self.error_rate!r}")
        if not self.latency_ms >= 0.0:
            raise ValueError(f"latency_ms must be 0 or more, not {self.latency_ms!r}")
        if not 400 <= self.error_status <= 599:
            raise ValueError(f"error_status must be 400-599, not {self.error_status!r}")
        if not 400 <= self.refuse_status <= 599:
            raise ValueError(f"refuse_status must be 400-599, not {self.refuse_status!r}")

    def to_json(self) -> dict[str, Any]:
        """Return the faults as the JSON object ``/mock/faults`` takes and returns."""
        return {"mode": self.mode, "error_rate": self.error_rate,
                "latency_ms": self.latency_ms, "error_status": self.error_status,
                "refuse_ids": sorted(self.refuse_ids),
                "refuse_status": self.refuse_status}  # fmt: skip

    def refusal(self, ids: Iterable[object]) -> HsmProblem | None:
        """The answer to a StateData PATCH naming ``ids``: a refusal, or None to handle it."""
        if not self.refuse_ids:
            return None
        for id_ in ids:
            if id_ in self.refuse_ids:
                # HSM's own words for a bad ID in a batch name no ID (docs/mock-hsm.md).
                reason = _REFUSALS.get(self.refuse_status, f"refused (mock fault): {id_}")
                return HsmProblem(self.refuse_status, reason)
        return None


@dataclass(frozen=True, slots=True)
class FaultDecision:
    """What the web layer must do with one request before (or instead of) handling it.

    Attributes:
        delay: seconds to sleep first.
        problem: the error to answer instead of handling the request, or None to handle it.
    """

    delay: float = 0.0
    problem: HsmProblem | None = None


NO_FAULT: Final = FaultDecision()
