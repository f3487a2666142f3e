"""``scripts/install`` puts both programs and their units in place from a wheel (#15), at
uv.lock's versions, in a new environment switched to atomically, with a rollback (#22).

Run into a temporary root, as a packager or an image build would: nothing outside it changes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import threading
import tomllib
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
    assert "--extra server" in result.stdout  # the tracker's extra, from the lock
    assert "--require-hashes" in result.stdout
    assert f"mv -T {root}/opt/hbtd-py.switching {root}/opt/hbtd-py" in result.stdout
    # Without --with-sim the simulator is not installed at all: removed from the environment.
    assert "usr/bin/hb-sim" not in result.stdout
    assert re.search(r"^\+ rm -f \S*/opt/hbtd-py-[^/]+/bin/hb-sim$", result.stdout, re.M)
    assert not root.exists()


def test_a_dry_run_names_the_wheel_it_would_build() -> None:
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    result = install("--dry-run", "--root", "/nonexistent/root")
    assert result.returncode == 0, result.stderr
    assert f"dist/hbtd_py-{version}-py3-none-any.whl" in result.stdout
    assert "VERSION" not in result.stdout


def test_help_is_the_usage_and_nothing_else() -> None:
    result = install("--help")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Install hbtd and hb-agent")
    assert any(line.strip().startswith("--rollback") for line in lines)
    assert lines[-1].startswith("Needs python3")
    assert not any(line.startswith(("set ", "cd ")) for line in lines)


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
    assert "--extra" not in result.stdout  # the bare package: no web stack on a node
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
    result = install("--rollback", "--root", str(tmp_path))
    assert (result.returncode, result.stderr.strip()) == (
        2,
        f"scripts/install: no previous install to roll back to ({tmp_path}/opt/hbtd-py.previous)",
    )


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_versions(release: Path) -> dict[str, str]:
    code = (
        "import json, importlib.metadata as m;"
        " print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    listed = subprocess.run(
        [str(release / "bin" / "python"), "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return {normal(name): version for name, version in json.loads(listed.stdout).items()}


def locked_versions() -> dict[str, set[str]]:
    """Each locked distribution's versions (a few have one per range of Python versions)."""
    lock = tomllib.loads((REPO / "uv.lock").read_text())
    versions: dict[str, set[str]] = {}
    for package in lock["package"]:
        versions.setdefault(normal(package["name"]), set()).add(package["version"])
    return versions


def run_program(release: Path, program: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(release / "bin" / "python"), str(release / "bin" / program), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.integration
def test_install_twice_switches_atomically_at_the_locks_versions_and_rolls_back(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    link = root / "opt" / "hbtd-py"
    first = install("--root", str(root))
    assert first.returncode == 0, first.stdout + first.stderr
    first_release = link.parent / os.readlink(link)
    assert first_release.name.startswith("hbtd-py-0.1.0-")
    locked = locked_versions()
    installed = installed_versions(first_release)
    assert {"orjson", "quart-trio", "httpx", "prometheus-client"} <= set(installed)
    assert {name: v for name, v in installed.items() if v not in locked.get(name, set())} == {}
    assert not (first_release / "bin" / "hb-sim").exists()  # without [sim]: not at all
    assert not (root / "usr/bin/hb-sim").exists()

    # While the second install runs, the environment in use is always there: never a gap.
    seen_missing: list[str] = []
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.001):  # about a thousand looks a second, not a busy loop
            if not (link / "bin" / "hbtd").exists():
                seen_missing.append(os.readlink(link) if link.is_symlink() else "no link")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        second = install("--root", str(root), "--with-sim")
    finally:
        done.set()
        watcher.join()
    assert second.returncode == 0, second.stdout + second.stderr
    assert seen_missing == []
    second_release = link.parent / os.readlink(link)
    assert second_release != first_release
    assert os.readlink(link.parent / "hbtd-py.previous") == first_release.name
    assert first_release.is_dir()  # kept for a rollback
    assert f"previous: {first_release.name}" in second.stdout
    installed = installed_versions(second_release)
    assert "rich" in installed
    assert {name: v for name, v in installed.items() if v not in locked.get(name, set())} == {}
    assert os.readlink(root / "usr/bin/hb-sim") == "/opt/hbtd-py/bin/hb-sim"
    assert run_program(second_release, "hb-sim", "--version").returncode == 0
    assert run_program(second_release, "hbtd", "--version").returncode == 0

    back = install("--rollback", "--root", str(root))
    assert back.returncode == 0, back.stdout + back.stderr
    assert link.parent / os.readlink(link) == first_release
    assert os.readlink(link.parent / "hbtd-py.previous") == second_release.name
    assert not (root / "usr/bin/hb-sim").exists()  # the first has no simulator
    assert run_program(first_release, "hbtd", "--version").returncode == 0


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
    release = os.readlink(venv)
    # The staged scripts say where they will run from, not where they were staged.
    assert (venv / "bin" / "hbtd").read_text().startswith(f"#!/opt/{release}/bin/python")
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
