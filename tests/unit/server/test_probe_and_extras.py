"""The image's health probe (``hbtd_server._probe``) and the check for a missing extra (#22)."""

from __future__ import annotations

import http.server
import ssl
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import trustme

from hb_sim.ports import free_port
from hbtd_server import missing_for_extra
from hbtd_server._probe import probe


class _Liveness(http.server.BaseHTTPRequestHandler):
    status = 204

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/hmi/v1/liveness" else 404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serving(status: int, context: ssl.SSLContext | None = None) -> Iterator[int]:
    handler = type("Handler", (_Liveness,), {"status": status})
    server = http.server.HTTPServer(("127.0.0.1", 0), handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_alive_over_http_on_the_wildcard_address() -> None:
    with serving(204) as port:
        assert probe({"HBTD_PORT": str(port), "HBTD_HOST": "0.0.0.0"}) is None
        assert probe({"HBTD_PORT": str(port), "HBTD_HOST": "127.0.0.1"}) is None


def test_an_error_status_or_nobody_listening_is_one_line() -> None:
    with serving(503) as port:
        assert probe({"HBTD_PORT": str(port)}) == (
            f"http://127.0.0.1:{port}/hmi/v1/liveness: HTTP 503"
        )
    port = free_port()
    failure = probe({"HBTD_PORT": str(port)})
    assert failure is not None
    assert failure.startswith(f"http://127.0.0.1:{port}/hmi/v1/liveness: ")
    assert "\n" not in failure


def test_https_trusts_the_configured_certificate_whatever_its_host_name(tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("cray-hbtd.services")  # the service's name, not loopback's
    certfile = tmp_path / "cert.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(certfile))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(server)
    other = tmp_path / "other.pem"
    trustme.CA().issue_cert("cray-hbtd.services").cert_chain_pems[0].write_to_path(str(other))
    with serving(204, server) as port:
        assert probe({"HBTD_PORT": str(port), "HBTD_CERTFILE": str(certfile)}) is None
        failure = probe({"HBTD_PORT": str(port), "HBTD_CERTFILE": str(other)})
        assert failure is not None
        assert failure.startswith(f"https://127.0.0.1:{port}/hmi/v1/liveness: ")
        assert "certificate verify failed" in failure
        plain = probe({"HBTD_PORT": str(port)})  # TLS port, probe without the certificate
        assert plain is not None


@pytest.fixture
def fake_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An installed distribution 'fakeproj' whose [server] needs one absent package."""
    info = tmp_path / "fakeproj-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: fakeproj\nVersion: 1.0\n"
        "Requires-Dist: click>=8\n"
        "Requires-Dist: trio>=0.27; extra == 'server'\n"
        'Requires-Dist: nothere-pkg>=1; extra == "server"\n'
        "Requires-Dist: fakeproj[server]; extra == 'sim'\n"
        "Requires-Dist: trio; extra == 'light'\n"
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    return "fakeproj"


def test_a_missing_dependency_of_an_extra_is_named(fake_project: str) -> None:
    assert missing_for_extra("server", project=fake_project) == "nothere-pkg"
    assert missing_for_extra("sim", project=fake_project) == "nothere-pkg"  # through [server]
    assert missing_for_extra("light", project=fake_project) is None
    assert missing_for_extra("unknown", project=fake_project) is None


def test_this_environment_has_every_extra_and_an_unknown_project_claims_nothing() -> None:
    assert missing_for_extra("server") is None
    assert missing_for_extra("sim") is None
    assert missing_for_extra("server", project="no-such-project-here") is None
