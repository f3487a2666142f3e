"""``scripts/build-image`` and what docs/deploy.md says of it and of ``scripts/install`` (#22).

The image itself is built and run in ``test_image.py``; these need no container engine.
"""

from __future__ import annotations

import re
import subprocess

from tests import REPO

BUILD_IMAGE = REPO / "scripts" / "build-image"
DEPLOY = REPO / "docs" / "deploy.md"


def build_image(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BUILD_IMAGE), *args], capture_output=True, text=True, timeout=60, check=False
    )


def test_a_dry_run_builds_from_the_lock_with_no_network() -> None:
    result = build_image("--dry-run", "--base", "example/base:1", "--tag", "example/hbtd:t")
    assert result.returncode == 0, result.stderr
    steps = [line for line in result.stdout.splitlines() if line.startswith("+ ")]
    export = next(step for step in steps if " export " in step)
    assert "--frozen" in export
    assert "--extra server" in export
    assert "--no-hashes" not in export  # the hashes are what pins the files
    wheel = next(step for step in steps if " wheel " in step)
    assert "--require-hashes" in wheel
    build = steps[-1]
    assert build.startswith("+ podman build --network none --format docker --file Containerfile")
    assert "--tag example/hbtd:t --build-arg BASE=example/base:1 build/image" in build


def test_the_containerfile_installs_from_the_wheelhouse_only() -> None:
    text = (REPO / "Containerfile").read_text()
    assert re.search(r"^ARG BASE=docker\.io/library/python:3\.11-slim-bookworm$", text, re.M)
    assert "FROM ${BASE}" in text
    installs = re.findall(r"pip install[^&]*", text)
    assert len(installs) == 2
    assert all("--no-index" in step for step in installs)
    assert "hypercorn" not in text


def test_bad_arguments_are_one_line_and_exit_2() -> None:
    result = build_image("--frobnicate")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "scripts/build-image: unknown argument '--frobnicate' (see --help)"
    )


def options_of(script: str) -> set[str]:
    usage = subprocess.run(
        [str(REPO / "scripts" / script), "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return set(re.findall(r"^\s+(--[a-z-]+)", usage, re.M))


def test_deploy_md_tells_the_offline_build_and_every_option() -> None:
    doc = DEPLOY.read_text()
    assert "scripts/build-image" in doc
    assert "--no-index" in doc
    assert "--network none" in doc
    for option in options_of("build-image") - {"--dry-run"}:
        assert f"`{option}" in doc, option
    for option in options_of("install"):
        assert f"`{option}" in doc, option
    assert "podman build -t hbtd -f Containerfile ." not in doc  # the old, online build
