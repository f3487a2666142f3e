"""The mock HSM (cray-smd): a sans-IO model of HSM's state API, its web app and its server.

The model (``MockHsm``) decides everything; the quart-trio app and the hypercorn server are
thin layers over it. They are loaded on first use, so reading a scenario does not import
quart.
"""

from __future__ import annotations

import typing as _typing

from .._public import claim as _claim
from .._public import lazy_names as _lazy_names
from ._faults import FaultDecision, FaultMode, Faults
from ._model import HSM_ROOT, MockHsm
from ._records import Component, RecordedRequest, StateChange
from ._states import (
    FLAGS,
    START_STATES,
    STATES,
    allowed_start_states,
    needs_force,
    normalize_flag,
    normalize_state,
)

if _typing.TYPE_CHECKING:
    from ._app import create_mock_hsm_app
    from ._serve import run_power_polling, serve_mock_hsm

__all__ = [
    "FLAGS",
    "HSM_ROOT",
    "START_STATES",
    "STATES",
    "Component",
    "FaultDecision",
    "FaultMode",
    "Faults",
    "MockHsm",
    "RecordedRequest",
    "StateChange",
    "allowed_start_states",
    "create_mock_hsm_app",
    "needs_force",
    "normalize_flag",
    "normalize_state",
    "run_power_polling",
    "serve_mock_hsm",
]

#: Names whose modules import quart or hypercorn: loaded when first asked for.
_LAZY = {
    "create_mock_hsm_app": "._app",
    "run_power_polling": "._serve",
    "serve_mock_hsm": "._serve",
}

__getattr__ = _lazy_names(__name__, _LAZY, globals())


_claim(__name__, [n for n in __all__ if n in globals()], globals())
