from __future__ import annotations

from pathlib import Path

import pytest

from hb_agent._errors import IdentityError
from hb_agent._identity import Sourced, discover_identity, parse_cmdline

from .conftest import make_tree

CMDLINE = (
    "BOOT_IMAGE=/vmlinuz root=live:LABEL=x quiet xname=x3000c0s19b1n0 nid=1001"
    " htburl=https://api-gw-service-nmn.local/apis/hbtd/hmi/v1/heartbeat\n"
)


def test_files_come_before_the_kernel_command_line(tmp_path: Path) -> None:
    root = make_tree(tmp_path, xname="x1000c0s0b0n0\n", nid="17\n", cmdline=CMDLINE)
    report = discover_identity(root=root, gethostname=lambda: "nid000017")
    assert report.xname == Sourced("x1000c0s0b0n0", "/etc/cray/xname")
    assert report.nid == Sourced("17", "/etc/cray/nid")
    assert report.hostname == Sourced("nid000017", "system host name")
    assert report.url.source == "/proc/cmdline htburl="
    identity = report.resolve()
    assert identity.xname == "x1000c0s0b0n0"
    assert identity.nid == 17
    assert identity.url == "https://api-gw-service-nmn.local/apis/hbtd/hmi/v1"


def test_kernel_command_line_when_files_are_absent(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, cmdline=CMDLINE))
    assert report.xname == Sourced("x3000c0s19b1n0", "/proc/cmdline xname=")
    assert report.nid == Sourced("1001", "/proc/cmdline nid=")


def test_empty_files_are_skipped(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, xname=" \n", nid="", cmdline=CMDLINE))
    assert report.xname.source == "/proc/cmdline xname="
    assert report.nid.source == "/proc/cmdline nid="


def test_overrides_win_over_everything_on_the_node(tmp_path: Path) -> None:
    root = make_tree(tmp_path, xname="x1000c0s0b0n0", nid="17", cmdline=CMDLINE)
    report = discover_identity(
        root=root,
        overrides={
            "xname": Sourced("x9c1s2b0n3", "flag --xname"),
            "nid": Sourced("99", "env HB_AGENT_NID"),
            "url": Sourced("http://127.0.0.1:28500/hmi/v1", "config f.yaml"),
            "hostname": Sourced("custom", "flag --hostname"),
            "ignored": Sourced(None, "nothing"),
        },
    )
    identity = report.resolve()
    assert (identity.xname, identity.nid, identity.hostname, identity.url) == (
        "x9c1s2b0n3",
        99,
        "custom",
        "http://127.0.0.1:28500/hmi/v1",
    )
    assert report.xname.source == "flag --xname"


def test_xname_is_normalized(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, xname="X1000C00S0B0N00\n"))
    assert report.resolve(need_url=False).xname == "x1000c0s0b0n0"


def test_missing_xname_is_a_clear_error(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, cmdline="quiet nid=3\n"))
    assert report.xname.value is None
    with pytest.raises(IdentityError) as caught:
        report.resolve()
    message = str(caught.value)
    for place in ("--xname", "HB_AGENT_XNAME", "config file", "/etc/cray/xname", "xname="):
        assert place in message


def test_no_tree_at_all(tmp_path: Path) -> None:
    report = discover_identity(root=tmp_path / "missing", gethostname=lambda: "")
    assert [found.value for _, found in report.items()] == [None, None, None, None]
    with pytest.raises(IdentityError, match="no xname found"):
        report.resolve()


def test_malformed_xname_names_its_source(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, xname="node17\n", cmdline=CMDLINE))
    with pytest.raises(IdentityError, match=r"'node17' from /etc/cray/xname is not a valid"):
        report.resolve()


def test_malformed_nid_is_an_error(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, xname="x1c0s0b0n0", nid="n17"))
    with pytest.raises(IdentityError, match="NID 'n17' from /etc/cray/nid"):
        report.resolve(need_url=False)


def test_missing_url_is_an_error_only_when_needed(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, xname="x1c0s0b0n0"))
    assert report.resolve(need_url=False).url is None
    with pytest.raises(IdentityError, match=r"no tracker URL found: tried --url.*htburl="):
        report.resolve()


def test_bad_url_names_its_source(tmp_path: Path) -> None:
    report = discover_identity(
        root=make_tree(tmp_path, xname="x1c0s0b0n0", cmdline="htburl=api-gw/heartbeat")
    )
    with pytest.raises(IdentityError, match=r"from /proc/cmdline htburl="):
        report.resolve()


def test_a_non_node_xname_is_accepted_with_a_warning(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, xname="x1000c0s0b0"))
    assert report.resolve(need_url=False).xname == "x1000c0s0b0"
    assert any("not a Node" in warning for warning in report.warnings)


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        ("xname=x1c0s0b0n0", {"xname": "x1c0s0b0n0"}),
        ("a=1 xname=x1c0s0b0n0 xname=x2c0s0b0n0", {"a": "1", "xname": "x2c0s0b0n0"}),
        ('quiet opt="a b" xname=x1c0s0b0n0\n', {"opt": "a b", "xname": "x1c0s0b0n0"}),
        ('"xname=x1c0s0b0n0"', {"xname": "x1c0s0b0n0"}),
        ("xname= nid=", {"xname": "", "nid": ""}),
        ("root=live:LABEL=SQFS a==b", {"root": "live:LABEL=SQFS", "a": "=b"}),
        ("-- init=/bin/sh  =x", {"init": "/bin/sh"}),
        ("", {}),
    ],
)
def test_parse_cmdline(cmdline: str, expected: dict[str, str]) -> None:
    assert parse_cmdline(cmdline) == expected


def test_cmdline_with_empty_xname_falls_through_to_not_found(tmp_path: Path) -> None:
    report = discover_identity(root=make_tree(tmp_path, cmdline="xname= htburl=http://h/hmi/v1"))
    assert report.xname.value is None
    assert report.url.value == "http://h/hmi/v1"
