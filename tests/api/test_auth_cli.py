"""The operability flags of ``hbtd`` (#8): refused combinations are usage errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hbtd_server.http import AdminAuth, Operability
from tests.cli_support import invoke_hbtd as run

pytestmark = pytest.mark.usefixtures("quiet_cli")


def test_protect_reads_needs_a_token_file() -> None:
    code, output = run("--protect", "reads")
    assert code == 2
    assert "--protect reads needs --admin-token-file" in output


def test_certfile_and_keyfile_go_together(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not read before the check")
    code, output = run("--certfile", str(cert))
    assert code == 2
    assert "--certfile and --keyfile go together" in output


def test_an_empty_token_file_is_refused_without_showing_its_content(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("  \n")
    code, output = run("--admin-token-file", str(token_file))
    assert code == 2
    assert "the admin token is empty" in output


def test_log_format_and_metrics_take_known_values_only() -> None:
    assert run("--log-format", "xml")[0] == 2
    assert run("--metrics", "maybe")[0] == 2
    code, output = run("--help")
    assert code == 0
    for flag in ("HBTD_LOG_FORMAT", "HBTD_METRICS", "HBTD_CERTFILE", "HBTD_ADMIN_TOKEN_FILE"):
        assert flag in output


def test_defaults_expose_metrics_over_plain_http_with_nothing_protected() -> None:
    ops = Operability()
    assert ops.metrics
    assert ops.certfile is None
    assert ops.admin is None
    assert ops.describe() == "metrics on, plain HTTP, no admin token"


def test_the_start_up_line_never_shows_the_token() -> None:
    admin = AdminAuth(token=b"do-not-print-me", protect_reads=True)
    line = Operability(metrics=False, admin=admin).describe()
    assert line == "metrics off, plain HTTP, admin token required for PATCH /params and the reads"
