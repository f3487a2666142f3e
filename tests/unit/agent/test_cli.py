"""The command line: precedence of flag, environment, config file and node files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from hb_agent.cli import main

from .conftest import make_tree

NAMES = ("CONFIG", "ROOT", "XNAME", "NID", "HOSTNAME", "URL", "INTERVAL", "LOG_LEVEL")


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    # Unset every HB_AGENT_* variable the test does not set, and never read /etc/hb-agent.yaml.
    environment: dict[str, str | None] = {f"HB_AGENT_{name}": None for name in NAMES}
    environment["HB_AGENT_CONFIG"] = ""
    environment.update(env or {})
    return CliRunner().invoke(main, list(args), env=environment, catch_exceptions=False)


@pytest.fixture
def node(tmp_path: Path) -> Path:
    return make_tree(
        tmp_path / "node",
        xname="x1000c0s0b0n0\n",
        nid="17\n",
        cmdline="quiet xname=x1000c0s0b0n9 htburl=http://10.0.0.1/apis/hbtd/hmi/v1/heartbeat\n",
    )


def identity_json(*args: str, env: dict[str, str] | None = None) -> dict[str, object]:
    result = invoke("identity", "--json", *args, env=env)
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_identity_reports_node_files_and_their_sources(node: Path) -> None:
    data = identity_json("--root", str(node))
    assert data["xname"] == {"value": "x1000c0s0b0n0", "source": "/etc/cray/xname"}
    assert data["nid"] == {"value": "17", "source": "/etc/cray/nid"}
    assert data["url"] == {
        "value": "http://10.0.0.1/apis/hbtd/hmi/v1/heartbeat",
        "source": "/proc/cmdline htburl=",
    }
    assert data["resolved"] == {
        "xname": "x1000c0s0b0n0",
        "nid": 17,
        "hostname": data["hostname"]["value"],  # type: ignore[index]
        "url": "http://10.0.0.1/apis/hbtd/hmi/v1",
    }
    assert data["error"] is None


def test_flag_beats_environment_beats_config_beats_node(node: Path, tmp_path: Path) -> None:
    config = tmp_path / "hb-agent.yaml"
    config.write_text("xname: x3c0s0b0n0\nnid: 3\nurl: http://config/hmi/v1\n")
    env = {
        "HB_AGENT_ROOT": str(node),
        "HB_AGENT_CONFIG": str(config),
        "HB_AGENT_XNAME": "x2c0s0b0n0",
        "HB_AGENT_NID": "2",
    }
    data = identity_json("--xname", "x1c0s0b0n0", env=env)
    assert data["xname"] == {"value": "x1c0s0b0n0", "source": "flag --xname"}
    assert data["nid"] == {"value": "2", "source": "env HB_AGENT_NID"}
    assert data["url"] == {"value": "http://config/hmi/v1", "source": f"config {config}"}

    data = identity_json(env={**env, "HB_AGENT_XNAME": ""})
    # An empty variable counts as unset, so the config file's value is next.
    assert data["xname"] == {"value": "x3c0s0b0n0", "source": f"config {config}"}

    data = identity_json(env={"HB_AGENT_ROOT": str(node), "HB_AGENT_CONFIG": str(config)})
    assert data["xname"] == {"value": "x3c0s0b0n0", "source": f"config {config}"}

    data = identity_json(env={"HB_AGENT_ROOT": str(node)})
    assert data["xname"] == {"value": "x1000c0s0b0n0", "source": "/etc/cray/xname"}


def test_identity_table_and_missing_xname_exit_status(tmp_path: Path) -> None:
    root = make_tree(tmp_path, cmdline="quiet\n")
    result = invoke("identity", "--root", str(root))
    assert result.exit_code == 1
    assert "xname     (not found)" in result.stdout
    assert "Error: no xname found: tried --xname, HB_AGENT_XNAME" in result.stderr


def test_identity_table_when_complete(node: Path) -> None:
    result = invoke("identity", "--root", str(node))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["xname", "x1000c0s0b0n0", "/etc/cray/xname"]
    assert lines[-1].split() == [
        "sends",
        "to",
        "http://10.0.0.1/apis/hbtd/hmi/v1/heartbeat/x1000c0s0b0n0",
    ]


def test_config_file_with_an_unknown_key_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("intervall: 3\n")
    result = invoke("identity", "--config", str(config))
    assert result.exit_code == 2
    assert "unknown key 'intervall'" in result.stderr
    assert "interval" in result.stderr


def test_config_keys_of_other_commands_are_accepted(node: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("interval: 2\nannounce-shutdown: true\nprobes: []\n")
    assert invoke("identity", "--root", str(node), "--config", str(config)).exit_code == 0


def test_a_named_config_file_must_exist(tmp_path: Path) -> None:
    result = invoke("identity", "--config", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "cannot read config file" in result.stderr


def test_run_refuses_to_start_without_an_xname(tmp_path: Path) -> None:
    root = make_tree(tmp_path, cmdline="htburl=http://127.0.0.1:9/hmi/v1\n")
    result = invoke("run", "--root", str(root))
    assert result.exit_code == 2
    assert "no xname found" in result.stderr


def test_send_refuses_to_start_without_a_url(tmp_path: Path) -> None:
    result = invoke("send", "--root", str(make_tree(tmp_path, xname="x1c0s0b0n0")))
    assert result.exit_code == 2
    assert "no tracker URL found" in result.stderr


def test_run_rejects_bad_probe_config(node: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("probes:\n  - {name: m, min_free_memory: lots}\n")
    result = invoke("run", "--root", str(node), "--config", str(config))
    assert result.exit_code == 2
    assert "probes[0]: min_free_memory: 'lots' is not a size" in result.stderr


def test_bad_option_value_from_config_is_reported(node: Path, tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("interval: soon\n")
    result = invoke("run", "--root", str(node), "--config", str(config))
    assert result.exit_code == 2
    assert "interval" in result.stderr
