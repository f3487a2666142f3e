"""The tracker's image, built offline by ``scripts/build-image`` and run with podman.

The wheelhouse is made on the host from uv.lock; the image build has no network at all. The
base is made here (``tests/deploy/podman.py``): registries cannot be reached. The container
uses the host's network, on a free port given as ``HBTD_PORT``.
"""

from __future__ import annotations

import re
import ssl
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from hb_sim.ports import free_port
from tests import REPO

from .podman import PODMAN, RUN_LIMITS, make_base_image, podman, podman_unusable

pytestmark = pytest.mark.integration

STARTUP_LIMIT = 60.0  # a loaded 2-core machine starting a container and the web stack
IMAGE = "localhost/hbtd-py:image-test"


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The image built from this checkout on the local base; removed afterwards."""
    why = podman_unusable()
    if why is not None:
        pytest.skip(why)
    base = make_base_image(tmp_path_factory.mktemp("base"))
    started = time.monotonic()
    build = subprocess.run(
        [
            str(REPO / "scripts" / "build-image"),
            *("--base", base, "--tag", IMAGE, "--engine", " ".join(PODMAN)),
            "--",
            *RUN_LIMITS,
            "--layers=false",  # no cached intermediate images piling up run after run
        ],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert build.returncode == 0, (build.stdout + build.stderr)[-4000:]
    print(f"scripts/build-image took {time.monotonic() - started:.1f} s")
    yield IMAGE
    podman("rmi", "--force", IMAGE, check=False)


def get(url: str, context: ssl.SSLContext | None = None) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=3, context=context) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_until_live(url: str, name: str, context: ssl.SSLContext | None = None) -> None:
    deadline = time.monotonic() + STARTUP_LIMIT
    while True:
        try:
            if get(url, context)[0] == 204:
                return
        except OSError:
            pass
        state = podman("inspect", "--format", "{{.State.Status}}", name).stdout.strip()
        if state != "running" or time.monotonic() > deadline:
            logs = podman("logs", name, check=False)
            raise AssertionError(f"not live ({state}):\n{logs.stdout}{logs.stderr}")
        time.sleep(0.2)


def start(image: str, *options: str) -> str:
    """Start the image in the background on the host's network; returns the container name."""
    name = f"hbtd-test-{uuid.uuid4().hex[:8]}"
    # The health check is run by hand (`podman healthcheck run`): its timer needs systemd.
    podman(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        "--health-interval",
        "disable",
        *RUN_LIMITS,
        *options,
        image,
    )
    return name


def stop_with_sigterm(name: str) -> int:
    podman("kill", "--signal", "TERM", name)
    return int(podman("wait", name, timeout=60).stdout.strip())


def test_the_image_serves_as_a_non_root_user_with_hbtd_settings(image: str) -> None:
    port = free_port()
    name = start(image, "-e", f"HBTD_PORT={port}", "-e", "HBTD_WARNTIME=17", "-e", "HBTD_NOSM=1")
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_live(f"{base}/hmi/v1/liveness", name)
        status, params = get(f"{base}/hmi/v1/params")
        assert status == 200
        assert '"Warntime":"17"' in params
        assert '"Nosm":"1"' in params
        status, metrics = get(f"{base}/metrics")
        assert status == 200
        assert "hbtd_warntime_seconds 17.0" in metrics
        assert re.search(r'^hbtd_build_info\{version="[^"]+"\} 1\.0$', metrics, re.M), metrics
        # The tracker itself (PID 1 of the container) runs as the image's user, not root.
        uid = podman("exec", name, "python3", "-c", "import os; print(os.getuid())")
        assert uid.stdout.strip() == "10001"
        assert podman("top", name, "huser").stdout.split()[1:] == ["10001"]
        assert podman("healthcheck", "run", name, check=False).returncode == 0
        assert stop_with_sigterm(name) == 0
        assert "received SIGTERM" in podman("logs", name).stderr + podman("logs", name).stdout
    finally:
        podman("rm", "--force", name, check=False)


def test_the_health_check_follows_tls(image: str, tmp_path: Path) -> None:
    ca = trustme.CA()
    cert = ca.issue_cert("hbtd.example")  # not loopback's name: the probe trusts the file
    tls = tmp_path / "tls"
    tls.mkdir(mode=0o755)
    cert.private_key_and_cert_chain_pem.write_to_path(str(tls / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tls / "key.pem"))
    for path in (tmp_path, tls, tls / "cert.pem", tls / "key.pem"):
        path.chmod(0o755 if path.is_dir() else 0o644)  # readable by the image's user
    port = free_port()
    name = start(
        image,
        *("-v", f"{tls}:/tls:ro"),
        *("-e", f"HBTD_PORT={port}", "-e", "HBTD_NOSM=1"),
        *("-e", "HBTD_CERTFILE=/tls/cert.pem", "-e", "HBTD_KEYFILE=/tls/key.pem"),
    )
    try:
        trusted = ssl.create_default_context()
        ca.configure_trust(trusted)
        trusted.check_hostname = False
        wait_until_live(f"https://127.0.0.1:{port}/hmi/v1/liveness", name, trusted)
        check = podman("healthcheck", "run", name, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        assert stop_with_sigterm(name) == 0
    finally:
        podman("rm", "--force", name, check=False)
