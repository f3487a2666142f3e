"""The OpenAPI document of the API as served, loaded once and served as JSON.

The source of truth is ``hbtd_server/openapi.yaml``, shipped inside the package;
``docs/openapi.yaml`` is a copy that a test keeps identical.
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any, cast

import yaml

__all__ = ["OPENAPI_RESOURCE", "load_openapi", "openapi_json"]

#: The document's file name inside the ``hbtd_server`` package.
OPENAPI_RESOURCE = "openapi.yaml"


def load_openapi() -> dict[str, Any]:
    """The OpenAPI document, parsed.

    Raises:
        ValueError: the shipped file is not an OpenAPI 3 mapping (a packaging bug).
    """
    text = resources.files("hbtd_server").joinpath(OPENAPI_RESOURCE).read_text("utf-8")
    document = yaml.safe_load(text)
    if not isinstance(document, dict) or not str(document.get("openapi", "")).startswith("3."):
        raise ValueError(f"hbtd_server/{OPENAPI_RESOURCE} is not an OpenAPI 3 document")
    return cast(dict[str, Any], document)


def openapi_json() -> bytes:
    """The document encoded as compact JSON, ready to serve."""
    return json.dumps(load_openapi(), separators=(",", ":")).encode()
