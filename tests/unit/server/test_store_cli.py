"""The store's flags (#7): a bad --kv_url or --workers without etcd is a clear usage error."""

from __future__ import annotations

import pytest

from hb_sim.ports import free_port
from tests.cli_support import invoke_hbtd as run

pytestmark = pytest.mark.usefixtures("quiet_cli")


@pytest.mark.parametrize("url", ["etcd:2379", "ftp://etcd", "http://etcd:99999"])
def test_a_malformed_kv_url_is_a_usage_error(url: str) -> None:
    code, output = run("--kv_url", url)
    assert code == 2
    assert "--kv_url" in output
    assert "Traceback" not in output


def test_the_environment_selects_etcd_too() -> None:
    code, output = run(env={"HBTD_KV_URL": "nonsense://"})
    assert code == 2
    assert "'nonsense://'" in output


def test_several_workers_need_a_shared_store() -> None:
    code, output = run("--workers", "2")
    assert code == 2
    assert "--workers 2 needs a shared store" in output


def test_an_unreachable_etcd_stops_the_start_with_a_reason(
    caplog: pytest.LogCaptureFixture,
) -> None:
    port = free_port()
    code, _ = run("--port", "0", "--host", "127.0.0.1", "--kv_url", f"http://127.0.0.1:{port}")
    assert code == 1
    [line] = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert line.startswith(f"cannot use the store at --kv_url http://127.0.0.1:{port}: ")
    assert "ConnectError" in line
