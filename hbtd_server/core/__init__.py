"""The tracker's sans-IO core: no clock, no I/O, no trio, no HTTP.

Import from here, never from the ``_`` modules.
"""

from ._describe import describe_error, tls_failure
from ._errors import (
    ComponentLimit,
    HbtdError,
    InvalidRequest,
    NotFound,
    PayloadTooLarge,
    Rejection,
)
from ._exports import export_names
from ._gojson import go_json
from ._goparse import parse_go_bool, parse_go_int, parse_go_uint
from ._guard import GuardSettings, GuardStatus, SilenceGuard
from ._heartbeat import (
    MAX_FIELD_LENGTH,
    MAX_HEARTBEAT_BODY,
    Heartbeat,
    JsonLoads,
    decode_json_body,
    parse_heartbeat,
)
from ._hsm_ledger import DEFAULT_MAX_IDS_PER_PATCH, HsmLedger, HsmPatch, RefusalBackoff
from ._hsm_table import HSM_START_STATES, HsmView, asserted_change, hsm_outcome, view_of
from ._logline import (
    LOG_FORMATS,
    TEXT_LOG_FORMAT,
    JsonFormatter,
    LogFormat,
    RedactingFormatter,
    log_formatter,
    plural,
)
from ._params import DEFAULT_PARAMS, PARAM_NAMES, ParamChecks, Params, parse_telemetry_host
from ._redact import REDACTED, keep_secret, redact_text, redact_url
from ._states import TRANSITIONS, HbState, HsmTarget, Kind, Trigger, state_diagram
from ._tracker import SHUTDOWN_STATUS, ComponentView, Tracker, Transition
from ._waves import WaveLog
from ._xname import MAX_XNAME_LENGTH, hms_type, is_node, normalize, verify_normalize

__all__ = [
    "DEFAULT_MAX_IDS_PER_PATCH",
    "DEFAULT_PARAMS",
    "HSM_START_STATES",
    "LOG_FORMATS",
    "MAX_FIELD_LENGTH",
    "MAX_HEARTBEAT_BODY",
    "MAX_XNAME_LENGTH",
    "PARAM_NAMES",
    "REDACTED",
    "SHUTDOWN_STATUS",
    "TEXT_LOG_FORMAT",
    "TRANSITIONS",
    "ComponentLimit",
    "ComponentView",
    "GuardSettings",
    "GuardStatus",
    "HbState",
    "HbtdError",
    "Heartbeat",
    "HsmLedger",
    "HsmPatch",
    "HsmTarget",
    "HsmView",
    "InvalidRequest",
    "JsonFormatter",
    "JsonLoads",
    "Kind",
    "LogFormat",
    "NotFound",
    "ParamChecks",
    "Params",
    "PayloadTooLarge",
    "RedactingFormatter",
    "RefusalBackoff",
    "Rejection",
    "SilenceGuard",
    "Tracker",
    "Transition",
    "Trigger",
    "WaveLog",
    "asserted_change",
    "decode_json_body",
    "describe_error",
    "export_names",
    "go_json",
    "hms_type",
    "hsm_outcome",
    "is_node",
    "keep_secret",
    "log_formatter",
    "normalize",
    "parse_go_bool",
    "parse_go_int",
    "parse_go_uint",
    "parse_heartbeat",
    "parse_telemetry_host",
    "plural",
    "redact_text",
    "redact_url",
    "state_diagram",
    "tls_failure",
    "verify_normalize",
    "view_of",
]
