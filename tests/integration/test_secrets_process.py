"""No password in any log line or response (#13), with a real ``hbtd``, etcd and mock HSM.

``--sm_url`` and ``--kv_url`` carry a password. The tracker is driven through HSM being not
ready, refusing (401) and accepting, a store on etcd, parameter reads and edits (including an
invalid URL echoed in an error), at Debug 2 so that it logs everything it can; then every
response body and every log line is searched for the password.
"""

from __future__ import annotations

from functools import partial
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.hsm import Faults, MockHsm, serve_mock_hsm
from hb_sim.ports import free_port
from tests.etcd_support import EtcdServer

from .conftest import launch_hbtd

pytestmark = pytest.mark.integration

PASSWORD = "Pa55-w0rd-never-shown"
NODES = [f"x1000c0s{s}b0n0" for s in range(4)]


def with_userinfo(url: str, user: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{user}:{PASSWORD}@{rest}"


async def test_no_password_in_any_log_line_or_response(
    tmp_path: Path, etcd_server: EtcdServer
) -> None:
    hsm = MockHsm(nodes=NODES, faults=Faults(mode="down"))
    responses: list[str] = []
    async with trio.open_nursery() as nursery:
        [hsm_base] = await nursery.start(partial(serve_mock_hsm, hsm, port=0))
        sm_url = with_userinfo(f"{hsm_base}/hsm/v2", "hbtd")
        args = ["--sm_url", sm_url, "--kv_url", with_userinfo(etcd_server.url, "root")]
        args += ["--debug", "2", "--interval", "1", "--warntime", "30", "--errtime", "60"]
        async with (
            launch_hbtd(tmp_path, free_port(), *args) as tracker,
            httpx.AsyncClient(timeout=5) as client,
        ):

            async def call(method: str, path: str, **kwargs: object) -> httpx.Response:
                url = f"{tracker.url}{path}"
                response = await client.request(method, url, **kwargs)  # type: ignore[arg-type]
                responses.append(f"{method} {path} {response.status_code} {response.text}")
                return response

            for name in NODES:
                await call("POST", f"/heartbeat/{name}", json={"Status": "OK", "TimeStamp": "t"})
            with trio.fail_after(10):  # HSM not ready: the detail names the URL
                while "***@" not in (await call("GET", "/health")).text:  # noqa: ASYNC110
                    await trio.sleep(0.2)
            shown = (await call("GET", "/params")).json()
            assert shown["Sm_url"] == with_userinfo(f"{hsm_base}/hsm/v2", "hbtd").replace(
                PASSWORD, "***"
            )
            assert shown["Kv_url"].startswith("http://root:***@")
            # GET, edit, PATCH: the redacted form keeps the secret.
            edited = await call("PATCH", "/params", json={**shown, "Warntime": "31"})
            assert edited.status_code == 200
            assert edited.json()["Sm_url"] == shown["Sm_url"]
            bad = await call("PATCH", "/params", json={"Sm_url": f"ftp://u:{PASSWORD}@h/"})
            assert bad.status_code == 400
            hsm.set_faults(Faults(mode="error", error_status=401))
            with trio.fail_after(10):  # HSM refuses: the tracker holds the states
                while (await call("GET", "/health")).json()["HsmRefused"] == 0:  # noqa: ASYNC110
                    await trio.sleep(0.2)
            hsm.set_faults(Faults())
            with trio.fail_after(30):  # accepted after the refusal backoff (Interval, doubling)
                while (await call("GET", "/health")).json()["HsmPending"]:  # noqa: ASYNC110
                    await trio.sleep(0.2)
            await call("GET", "/metrics")
            await call("POST", "/hbstates", json={"XNames": NODES})
            assert await tracker.terminate() == 0
        nursery.cancel_scope.cancel()
    assert all(hsm.component(x).state == "Ready" for x in NODES)  # the secret still worked
    log = tracker.log()
    assert "hbtd:***@" in log  # the URL is logged, redacted
    leaks = [line for line in [*log.splitlines(), *responses] if PASSWORD in line]
    assert not leaks, leaks[:3]
