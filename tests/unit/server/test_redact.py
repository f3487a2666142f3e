"""Secrets in URLs (#13): redacted wherever they can be seen, kept when sent back redacted."""

from __future__ import annotations

import io
import logging

import pytest

from hbtd_server.core import (
    DEFAULT_PARAMS,
    InvalidRequest,
    Params,
    keep_secret,
    redact_text,
    redact_url,
)
from hbtd_server.http._problem import problem_body
from hbtd_server.ops import configure_logging

SECRET = "s3cr3t-Pw"
SM = f"https://hbtd:{SECRET}@hsm.local:8443/hsm/v2"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (SM, "https://hbtd:***@hsm.local:8443/hsm/v2"),
        ("http://token@h/x", "http://***@h/x"),  # a bare user-info may itself be the secret
        ("http://user:@h/x", "http://***@h/x"),
        ("http://h:2379/x@y", "http://h:2379/x@y"),  # an @ in the path is no user-info
        ("http://cray-smd/hsm/v2", "http://cray-smd/hsm/v2"),
        ("mem:", "mem:"),
        ("http://a:b@h1:2379,http://c:d@h2:2379", "http://a:***@h1:2379,http://c:***@h2:2379"),
    ],
)
def test_urls_are_redacted(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_text_and_json_text_are_redacted() -> None:
    text = f'{{"HsmDetail":"{SM}/service/ready: ConnectError"}} and {SM}'
    assert SECRET not in redact_text(text)
    assert redact_text(text).count("hbtd:***@") == 2


def test_sending_back_the_redacted_url_keeps_the_secret() -> None:
    params = DEFAULT_PARAMS.patched({"Sm_url": SM})
    shown = params.to_public_json()
    assert shown["Sm_url"] == "https://hbtd:***@hsm.local:8443/hsm/v2"
    again = params.patched(shown)  # GET, edit nothing, PATCH
    assert again.sm_url == SM
    edited = params.patched({**shown, "Warntime": "12"})
    assert (edited.sm_url, edited.warntime) == (SM, 12)
    changed = params.patched({"Sm_url": "https://hbtd:new@hsm.local:8443/hsm/v2"})
    assert changed.sm_url.endswith("new@hsm.local:8443/hsm/v2")
    assert keep_secret("http://other:***@h/", SM) == "http://other:***@h/"


def test_kv_url_accepts_its_redacted_form_and_refuses_changes() -> None:
    params = Params(kv_url=f"http://root:{SECRET}@etcd:2379")
    shown = params.to_public_json()
    assert SECRET not in str(shown)
    assert params.patched(shown).kv_url == params.kv_url
    with pytest.raises(InvalidRequest, match="can't be changed"):
        params.patched({"Kv_url": "http://etcd:2379"})


def test_an_invalid_url_is_echoed_redacted() -> None:
    with pytest.raises(InvalidRequest) as caught:
        DEFAULT_PARAMS.patched({"Sm_url": f"ftp://u:{SECRET}@h/"})
    assert SECRET not in caught.value.detail
    assert SECRET not in problem_body(400, f"bad {SM}", "/x").decode()


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_log_line_is_redacted(log_format: str, restore_logging: None) -> None:
    stream = io.StringIO()
    configure_logging(log_format=log_format, debug=0, stream=stream)  # type: ignore[arg-type]
    logging.getLogger("httpx").warning("request to %s failed", SM)
    logging.getLogger("hbtd").info("field", extra={"url": SM})
    try:
        raise RuntimeError(f"boom at {SM}")
    except RuntimeError:
        logging.getLogger("hbtd").exception("it failed")
    output = stream.getvalue()
    assert output.count("hbtd:***@") >= (3 if log_format == "json" else 2)  # text: no fields
    assert SECRET not in output
