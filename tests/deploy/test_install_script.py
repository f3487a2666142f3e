"""``scripts/install`` puts both programs and their units in place from a wheel (#15).

Run into a temporary root, as a packager or an image build would: nothing outside it changes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests import REPO

INSTALL = REPO / "scripts" / "install"
PLACED = [
    "usr/bin/hbtd",
    "usr/bin/hb-agent",
    "etc/systemd/system/hbtd.service",
    "etc/systemd/system/hb-agent.service",
    "etc/sysconfig/hbtd",
    "etc/hb-agent.yaml",
]


def install(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INSTALL), *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_a_dry_run_names_every_destination_and_changes_nothing(tmp_path: Path) -> None:
    wheel = tmp_path / "hbtd_py-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not read in a dry run")
    root = tmp_path / "root"
    result = install("--dry-run", "--root", str(root), "--wheel", str(wheel))
    assert result.returncode == 0, result.stderr
    for path in PLACED:
        assert str(root / path) in result.stdout, path
    assert f"ln -sfn /opt/hbtd-py/bin/hbtd {root}/usr/bin/hbtd" in result.stdout
    assert "hbtd-py[server] @ file://" in result.stdout  # the tracker's extra
    assert not root.exists()


def test_an_agent_only_dry_run_places_the_agent_alone(tmp_path: Path) -> None:
    wheel = tmp_path / "hbtd_py-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"not read in a dry run")
    root = tmp_path / "root"
    result = install("--dry-run", "--agent-only", "--root", str(root), "--wheel", str(wheel))
    assert result.returncode == 0, result.stderr
    for path in ("usr/bin/hb-agent", "etc/systemd/system/hb-agent.service", "etc/hb-agent.yaml"):
        assert str(root / path) in result.stdout, path
    for path in ("usr/bin/hbtd", "etc/systemd/system/hbtd.service", "etc/sysconfig/hbtd"):
        assert str(root / path) not in result.stdout, path
    assert "[server]" not in result.stdout  # the bare package: no web stack on a node
    assert not root.exists()


def test_bad_arguments_are_one_line_and_exit_2(tmp_path: Path) -> None:
    result = install("--wheel", str(tmp_path / "missing.whl"))
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"scripts/install: no such wheel: {tmp_path / 'missing.whl'}",
    )
    result = install("--frobnicate")
    assert result.returncode == 2
    assert "unknown argument '--frobnicate'" in result.stderr


@pytest.mark.integration
def test_a_real_install_into_a_temporary_root(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "etc" / "sysconfig").mkdir(parents=True)
    (root / "etc" / "sysconfig" / "hbtd").write_text("HBTD_WARNTIME=20\n")  # the site's own
    result = install("--root", str(root))
    if result.returncode != 0 and "network" in (result.stdout + result.stderr).lower():
        pytest.skip(f"no package index reachable: {result.stderr.strip()[-300:]}")
    assert result.returncode == 0, result.stdout + result.stderr
    for path in PLACED:
        assert (root / path).is_symlink() or (root / path).is_file(), path
    assert os.readlink(root / "usr/bin/hbtd") == "/opt/hbtd-py/bin/hbtd"
    assert (root / "etc/sysconfig/hbtd").read_text() == "HBTD_WARNTIME=20\n"  # kept
    assert f"keeping {root}/etc/sysconfig/hbtd" in result.stdout
    venv = root / "opt" / "hbtd-py"
    # The staged scripts say where they will run from, not where they were staged.
    assert (venv / "bin" / "hbtd").read_text().startswith("#!/opt/hbtd-py/bin/python")
    assert str(root) not in (venv / "bin" / "hb-agent").read_text()
    for program in ("hbtd", "hb-agent"):
        ran = subprocess.run(
            [str(venv / "bin" / "python"), str(venv / "bin" / program), "--help"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 0, ran.stderr
        assert "Usage:" in ran.stdout
