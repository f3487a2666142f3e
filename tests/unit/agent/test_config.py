from __future__ import annotations

from pathlib import Path

import pytest

from hb_agent._config import load_config, parse_probes, parse_size
from hb_agent._errors import ConfigError
from hb_agent._probes import CommandProbe, DiskProbe, MemoryProbe

KNOWN = {"xname", "interval", "announce_shutdown"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "hb-agent.yaml"
    path.write_text(text)
    return path


def test_options_and_probes(tmp_path: Path) -> None:
    config = load_config(
        write(
            tmp_path,
            """
xname: x1000c0s0b0n0
announce-shutdown: true
interval: 2.5
probes:
  - name: lustre
    command: [/usr/sbin/lctl, ping, "10.1.0.1@o2ib"]
    timeout: 5
    every: 60
    status: Lustre Down
  - {name: script, command: "/opt/check --quick 'a b'"}
  - {name: mem, min_free_memory: 512MiB}
  - {name: tmp, min_free_disk: 1G, path: /tmp, status: Low Disk}
""",
        ),
        known=KNOWN,
    )
    assert config.options == {
        "xname": "x1000c0s0b0n0",
        "announce_shutdown": True,
        "interval": 2.5,
    }
    assert config.probes == (
        CommandProbe(
            name="lustre",
            argv=("/usr/sbin/lctl", "ping", "10.1.0.1@o2ib"),
            timeout=5.0,
            every=60.0,
            status="Lustre Down",
        ),
        CommandProbe(name="script", argv=("/opt/check", "--quick", "a b")),
        MemoryProbe(name="mem", min_bytes=512 * 2**20),
        DiskProbe(name="tmp", path="/tmp", min_bytes=2**30, status="Low Disk"),
    )


def test_empty_file_is_fine(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing\n"), known=KNOWN)
    assert (config.options, config.probes) == ({}, ())


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("- a\n- b\n", "must hold a mapping"),
        ("xname: [unclosed\n", "not valid YAML"),
        ("nid: 3\n", "unknown key 'nid'"),
        ("probes: {a: 1}\n", "'probes' must be a list"),
        ("probes: [3]\n", r"probes\[0\] must be a mapping"),
        ("probes: [{name: a}]\n", "needs exactly one of"),
        ("probes: [{command: x, min_free_memory: 1}]\n", "needs exactly one of"),
        ("probes: [{command: x, colour: red}]\n", r"unknown keys \['colour'\]"),
        ("probes: [{command: ''}]\n", "command is empty"),
        ("probes: [{command: [1, 2]}]\n", "command must be text"),
        ("probes: [{command: x, timeout: 0}]\n", "timeout must be a positive"),
        ("probes: [{command: x, every: yes}]\n", "every must be a positive"),
        ("probes: [{command: x, status: ''}]\n", "status must be text"),
        ("probes: [{command: x, name: 3}]\n", "name must be text"),
        ("probes: [{min_free_disk: 1G}]\n", "needs a 'path'"),
        ("probes: [{command: a}, {command: b}]\n", r"repeated: \['command'\]"),
    ],
)
def test_errors_point_at_the_problem(tmp_path: Path, text: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load_config(write(tmp_path, text), known=KNOWN)


@pytest.mark.parametrize(
    ("value", "size"),
    [
        (1024, 1024),
        ("1024", 1024),
        ("100k", 102_400),
        ("512MiB", 512 * 2**20),
        ("1.5G", 3 * 2**29),
        ("2 TB", 2 * 2**40),
        ("7b", 7),
    ],
)
def test_sizes(value: object, size: int) -> None:
    assert parse_size(value, what="x") == size


@pytest.mark.parametrize("value", ["lots", "-1", -1, True, None, "1X", 1.5])
def test_bad_sizes(value: object) -> None:
    with pytest.raises(ConfigError, match="is not a size"):
        parse_size(value, what="x")


def test_no_probes() -> None:
    assert parse_probes(None, source="f") == ()
