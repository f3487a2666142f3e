"""The mock HSM (cray-smd): a sans-IO model of HSM's state API, its web app and its server.

The model (``MockHsm``) decides everything; the quart-trio app and the hypercorn server are
thin layers over it. They are loaded on first use, so reading a scenario does not import
quart.
"""

from __future__ import annotations

import typing as _typing

from hbtd_server.core import export_names as _export_names

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

# The app and the server import quart and hypercorn: loaded when first asked for.
__getattr__ = _export_names(
    globals(),
    lazy={"._app": ("create_mock_hsm_app",), "._serve": ("run_power_polling", "serve_mock_hsm")},
)
