"""What a compute node installs is only what the agent needs (#16).

The wheel is built from this checkout and installed without extras into a fresh virtual
environment, as on a node: ``hb-agent`` works there, and neither the tracker's web stack, nor
Kafka, nor the simulator's terminal stack is installed at all.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tests import REPO

pytestmark = pytest.mark.integration

UV = Path(sys.executable).with_name("uv")
#: Distributions only the extras ([server], [sim]) bring.
SERVER_AND_SIM_ONLY = {
    "quart",
    "quart-trio",
    "hypercorn",
    "flask",
    "confluent-kafka",
    "prometheus-client",
    "rich",
    "pygments",
    "h2",
    "hpack",
    "httptools",
}


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(c) for c in command], capture_output=True, text=True, timeout=300, cwd=cwd
    )
    assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def bare_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv with the bare hbtd-py wheel installed, as on a compute node."""
    where = tmp_path_factory.mktemp("bare")
    run(UV, "build", "--wheel", "--quiet", "--out-dir", where / "dist", REPO, cwd=where)
    [wheel] = (where / "dist").glob("hbtd_py-*.whl")
    run(UV, "venv", "--quiet", "--python", sys.executable, where / "venv")
    python = where / "venv" / "bin" / "python"
    run(UV, "pip", "install", "--quiet", "--python", python, wheel)
    return where / "venv"


def test_the_bare_wheel_installs_only_the_agents_dependencies(bare_venv: Path) -> None:
    listed = run(UV, "pip", "list", "--python", bare_venv / "bin" / "python")
    installed = {line.split()[0].lower() for line in listed.splitlines()[2:] if line.strip()}
    assert {"hbtd-py", "click", "httpx", "trio", "pyyaml"} <= installed
    assert installed & SERVER_AND_SIM_ONLY == set()


def test_hb_agent_runs_from_the_bare_install(bare_venv: Path, tmp_path: Path) -> None:
    agent = bare_venv / "bin" / "hb-agent"
    assert "Node-side heartbeat agent" in run(agent, "--help")
    (tmp_path / "etc" / "cray").mkdir(parents=True)
    (tmp_path / "etc" / "cray" / "xname").write_text("x1000c0s0b0n0\n")
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc" / "cmdline").write_text("quiet htburl=http://ncn-m001:28500/hmi/v1\n")
    output = run(agent, "identity", "--config", "", "--root", tmp_path)
    assert "x1000c0s0b0n0" in output
    assert "http://ncn-m001:28500/hmi/v1/heartbeat" in output


def test_the_agent_loads_no_tracker_or_simulator_module(bare_venv: Path) -> None:
    code = (
        "import sys, hb_agent.cli, httpx; httpx.AsyncClient();"
        " print(sorted({k.split('.')[0] for k, v in sys.modules.items() if v is not None}))"
    )
    loaded = set(ast.literal_eval(run(bare_venv / "bin" / "python", "-c", code)))
    assert {"trio", "httpx", "click", "hbtd_server"} <= loaded  # hbtd_server.core: xname rules
    assert loaded & {"quart", "hypercorn", "hb_sim", "rich", "h2", "yaml"} == set()


@pytest.mark.parametrize(
    ("program", "args", "extra"),
    [
        ("hbtd", ["--nosm"], "hbtd-py[server]"),
        ("hbtd", ["--version"], "hbtd-py[server]"),
        ("hb-sim", ["validate", "scenarios"], "hbtd-py[sim]"),
        ("hb-sim", ["run", "--help"], "hbtd-py[sim]"),
    ],
)
def test_the_tracker_and_simulator_name_their_extra_in_one_line(
    bare_venv: Path, program: str, args: list[str], extra: str
) -> None:
    done = subprocess.run(
        [str(bare_venv / "bin" / program), *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert line.startswith(f"{program}: ")
    assert f"pip install '{extra}'" in line
    assert "Traceback" not in done.stderr
