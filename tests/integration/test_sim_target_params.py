"""``hb-sim run --target`` gives a tracker back as it found it (#22).

A real ``hbtd`` with its own Warntime, Errtime, Interval and Sm_url; ``hb-sim run --clock live
--target`` sets the scenario's, and at the end, however the run ends (a failed check, Ctrl-C),
sets back what it changed and says so in one line; ``--keep-params`` leaves them.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import trio

from hb_sim.ports import free_port

from .conftest import HbtdProcess, launch_hbtd

pytestmark = pytest.mark.integration

#: The tracker's own parameters, none of them the scenario's.
OWN = {"Warntime": "40", "Errtime": "90", "Interval": "7"}
OWN_SM_URL = "http://hsm-user:s3cret@127.0.0.1:9/hsm/v2"

#: Fails by design: nobody dies, yet a death is expected.
FAILING = """
name: params-trap
duration: 4s
fleet: {ranges: ["x1000c0s[0-1]b0n0"]}
agents: {interval: 1s}
tracker: {warntime: 3s, errtime: 5s, interval: 1s, params: {Sm_timeout: "4"}}
expect:
  - name: a death nobody caused
    by: 3s
    nodes: all
    state: Standby
    flag: Alert
"""

LONG = FAILING.replace("duration: 4s", "duration: 120s")


async def params(hbtd: HbtdProcess) -> dict[str, str]:
    async with httpx.AsyncClient(timeout=5) as client:
        document: dict[str, str] = (await client.get(f"{hbtd.url}/params")).json()
    return document


def hb_sim_run(scenario: Path, hbtd: HbtdProcess, *more: str) -> list[str]:
    command = [sys.executable, "-c", "from hb_sim.cli import main; main()", "run"]
    target = f"http://127.0.0.1:{hbtd.port}"
    return [*command, str(scenario), "--clock", "live", "--no-live-view", "--target", target, *more]


def own_params() -> list[str]:
    flags = ["--nosm", "--sm_url", OWN_SM_URL]
    return flags + [f"--{k.lower()}={v}" for k, v in OWN.items()]


async def test_a_failed_run_sets_back_what_it_changed_and_says_so(tmp_path: Path) -> None:
    scenario = tmp_path / "trap.yaml"
    scenario.write_text(FAILING)
    async with launch_hbtd(tmp_path, free_port(), *own_params()) as hbtd:
        before = await params(hbtd)
        assert before["Sm_url"] == "http://hsm-user:***@127.0.0.1:9/hsm/v2"
        done = await trio.run_process(
            hb_sim_run(scenario, hbtd), capture_stdout=True, capture_stderr=True, check=False
        )
        after = await params(hbtd)
    out = done.stdout.decode()
    assert done.returncode == 1, out + done.stderr.decode()
    assert after == before
    base = f"http://127.0.0.1:{hbtd.port}"
    restored = [line for line in out.splitlines() if "restored" in line]
    assert restored == [
        f"hb-sim: restored Warntime, Errtime, Interval, Sm_timeout, Sm_url on {base} to their "
        "values before the run"
    ]
    # The password was never shown, yet it is back: the tracker kept it when sent ``***``.
    assert "s3cret" not in out


async def test_ctrl_c_sets_them_back_too(tmp_path: Path) -> None:
    scenario = tmp_path / "long.yaml"
    scenario.write_text(LONG)
    output = tmp_path / "run.out"
    async with launch_hbtd(tmp_path, free_port(), *own_params()) as hbtd:
        before = await params(hbtd)
        with output.open("wb") as sink:
            run = await trio.lowlevel.open_process(
                hb_sim_run(scenario, hbtd), stdout=sink, stderr=subprocess.STDOUT
            )
        try:

            async def changed() -> bool:
                return (await params(hbtd))["Warntime"] == "3"

            with trio.fail_after(60):
                while not await changed():  # noqa: ASYNC110  (another process's state)
                    await trio.sleep(0.1)
        finally:
            run.send_signal(signal.SIGINT)
            with trio.fail_after(30):
                await run.wait()
        after = await params(hbtd)
    text = output.read_text()
    assert run.returncode == 130, text
    assert after == before
    assert "hb-sim: restored Warntime, Errtime, Interval, Sm_timeout, Sm_url on" in text
    assert "Traceback" not in text


async def test_keep_params_leaves_the_scenarios(tmp_path: Path) -> None:
    scenario = tmp_path / "trap.yaml"
    scenario.write_text(FAILING)
    async with launch_hbtd(tmp_path, free_port(), *own_params()) as hbtd:
        done = await trio.run_process(
            hb_sim_run(scenario, hbtd, "--keep-params"),
            capture_stdout=True,
            capture_stderr=True,
            check=False,
        )
        after = await params(hbtd)
    assert done.returncode == 1
    assert (after["Warntime"], after["Errtime"], after["Interval"]) == ("3", "5", "1")
    assert after["Sm_url"].startswith("http://127.0.0.1:")  # the run's own mock HSM
    assert (
        f"hb-sim: kept the scenario's Warntime, Errtime, Interval, Sm_timeout, Sm_url on "
        f"http://127.0.0.1:{hbtd.port} (--keep-params)"
    ) in done.stdout.decode().splitlines()
