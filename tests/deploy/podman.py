"""Podman for the image tests: how it runs on this machine kind, and a base image made here.

Podman comes from Debian (``scripts/install-test-deps``) and runs as root with runc and plain
cgroupfs (no systemd as PID 1 here), with explicit ulimits (its defaults may exceed what a
container inside a container may set). Image registries cannot be reached, so the base image is
made locally: ``debootstrap --variant=minbase bookworm`` from Debian's own mirror, with
python3 and its venv module, imported as an image. It stays in podman's store and is reused
while it exists (a second run, or CI on the same machine, skips the minute it takes).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "BASE_IMAGE",
    "PODMAN",
    "RUN_LIMITS",
    "make_base_image",
    "podman",
    "podman_unusable",
]

#: podman with the options it needs here.
PODMAN = ["podman", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
#: ulimits for every container (and build step).
RUN_LIMITS = ["--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"]
#: The locally made base; the tag names the recipe, so a changed recipe makes a new one.
BASE_IMAGE = "localhost/hbtd-test-base:bookworm-python3-1"
_BASE_PACKAGES = "python3,python3-venv"


def podman(
    *args: str, timeout: float = 120, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``podman ARGS`` (with this machine's options); raise with its output if it fails."""
    done = subprocess.run(
        [*PODMAN, *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {done.returncode}\n{done.stderr}")
    return done


def podman_unusable() -> str | None:
    """Why podman cannot run containers here at all, or None when it can."""
    if shutil.which("podman") is None:
        return "podman is not installed (scripts/install-test-deps installs it)"
    try:
        info = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"podman does not answer: {error}"
    if info.returncode != 0:
        return f"podman cannot run here: {info.stderr.strip()[-300:]}"
    return None


def make_base_image(work: Path | None = None) -> str:
    """The base image with python3 and venv, made now unless podman's store has it."""
    if podman("image", "exists", BASE_IMAGE, check=False).returncode == 0:
        return BASE_IMAGE
    if shutil.which("debootstrap") is None:
        raise AssertionError("debootstrap is not installed (scripts/install-test-deps)")
    with tempfile.TemporaryDirectory(dir=work) as scratch:
        rootfs = Path(scratch) / "rootfs"
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                f"--include={_BASE_PACKAGES}",
                "bookworm",
                str(rootfs),
            ],
            timeout=900,
        )
        # The downloaded packages are the image's weight and nobody's use.
        for package in (rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb"):
            package.unlink()
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        try:
            imported = subprocess.run(
                [*PODMAN, "import", "--change", 'CMD ["/bin/bash"]', "-", BASE_IMAGE],
                stdin=tar.stdout,
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
        finally:
            if tar.stdout is not None:
                tar.stdout.close()
            tar.wait(timeout=60)
        if imported.returncode != 0:
            raise AssertionError(f"podman import: {imported.stderr}")
    return BASE_IMAGE


def _run(command: Sequence[str], *, timeout: float) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        tail = (done.stdout + done.stderr)[-2000:]
        raise AssertionError(f"{command[0]}: exit {done.returncode}\n{tail}")
