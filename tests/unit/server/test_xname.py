"""HMS xnames: recognition as given, normalization, and HSM's verify-normalize.

The sample table of HMS's xname rules (hms-xname v1.4.0).
"""

from __future__ import annotations

import pytest

from hbtd_server.core import MAX_XNAME_LENGTH, hms_type, is_node, normalize, verify_normalize


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("x1000c7s7b1n1", "Node", id="node"),
        pytest.param("x3000c0s19b1n0", "Node", id="node-river"),
        pytest.param("x0c0s0b0n0v3", "VirtualNode", id="virtual-node"),
        pytest.param("x0c0s0b0", "NodeBMC", id="node-bmc"),
        pytest.param("x0c0s0b0i0", "NodeBMCNic", id="node-bmc-nic"),
        pytest.param("x0c0s0e0", "NodeEnclosure", id="node-enclosure"),
        pytest.param("x0c0s0", "ComputeModule", id="slot"),
        pytest.param("x0c0", "Chassis", id="chassis"),
        pytest.param("x0c0b0", "ChassisBMC", id="chassis-bmc"),
        pytest.param("x3000", "Cabinet", id="cabinet"),
        pytest.param("x3000b0", "CabinetBMC", id="cabinet-bmc"),
        pytest.param("x3000m0", "CabinetPDUController", id="pdu-controller"),
        pytest.param("x3000m0p0", "CabinetPDU", id="pdu"),
        pytest.param("x1000d0", "CabinetCDU", id="cabinet-cdu"),
        pytest.param("x1000e0", "CEC", id="cec"),
        pytest.param("d0", "CDU", id="cdu"),
        pytest.param("d0w1", "CDUMgmtSwitch", id="cdu-switch"),
        pytest.param("x0c0r1", "RouterModule", id="router-module"),
        pytest.param("x0c0r1b0", "RouterBMC", id="router-bmc"),
        pytest.param("x0c0r1e0", "HSNBoard", id="hsn-board"),
        pytest.param("x0c0r1a0", "HSNAsic", id="hsn-asic"),
        pytest.param("x0c0s0b0n0i1", "NodeNic", id="node-nic"),
        pytest.param("x0c0s0b0n0h0", "NodeHsnNic", id="node-hsn-nic"),
        pytest.param("x0c0s0b0n0a0", "NodeAccel", id="node-accel"),
        pytest.param("x0c0s0b0n0d0", "Memory", id="memory"),
        pytest.param("x0c0s0b0n0p0", "Processor", id="processor"),
        pytest.param("x3000c0w14", "MgmtSwitch", id="mgmt-switch"),
        pytest.param("x3000c0h1s1", "MgmtHLSwitch", id="mgmt-hl-switch"),
        pytest.param("s0", "System", id="system"),
        pytest.param("p0", "Partition", id="partition"),
        pytest.param("p1.2", "Partition", id="partition-dotted"),
        pytest.param("sms1", "SMSBox", id="sms"),
        pytest.param("all", "All", id="all"),
        pytest.param("all_comp", "AllComp", id="all-comp"),
        pytest.param("all_svc", "AllSvc", id="all-svc"),
        # Upstream's regexes take leading zeros in unbounded runs, and cabinets of 1-4 digits.
        pytest.param("x00c0s27b0n0", "Node", id="zero-padded-cabinet"),
        pytest.param("x0c0s00b0n5", "Node", id="zero-padded-slot"),
        pytest.param("x9999c7s0b0n0", "Node", id="cabinet-9999"),
        # Not xnames, as given (hms_type never normalizes).
        pytest.param("X0C0S0B0N0", None, id="upper-case"),
        pytest.param("x0001c00s05b0n0", None, id="two-digit-chassis"),
        pytest.param(" x0c0s0b0n0 ", None, id="padded"),
        pytest.param("x10000c0s0b0n0", None, id="cabinet-5-digits"),
        pytest.param("x0c8s0b0n0", None, id="chassis-8"),
        pytest.param("0c0s27b0n0", None, id="no-x"),
        pytest.param("x0c0s27b0n0s0", None, id="trailing-junk"),
        pytest.param("ncnw001", None, id="ncn-hostname"),
        pytest.param("xxyyzz", None, id="letters"),
        pytest.param("garbage", None, id="garbage"),
        pytest.param("", None, id="empty"),
        pytest.param("x0c0b1", None, id="chassis-bmc-1"),
        pytest.param("x3000c0w0", None, id="mgmt-switch-0"),
        pytest.param("x0c0s0b0n0i4", None, id="node-nic-4"),
        pytest.param("s1", None, id="system-1"),
        pytest.param("x0c0s0b0n0\n", None, id="trailing-newline"),
        pytest.param("x٣c0s0b0n0", None, id="non-ascii-digit"),
    ],
)
def test_hms_type(name: str, expected: str | None) -> None:
    assert hms_type(name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("x0c0s0b0n0", True, id="node"),
        pytest.param("x0c0s00b0n5", True, id="zero-padded"),
        pytest.param("x0c0s0b0n0v3", False, id="virtual-node"),
        pytest.param("x0c0s0b0", False, id="bmc"),
        pytest.param("X0C0S0B0N0", False, id="upper-case"),
        pytest.param("x0c0s0b0n" + "0" * MAX_XNAME_LENGTH, False, id="overlong"),
    ],
)
def test_is_node(name: str, expected: bool) -> None:
    assert is_node(name) is expected


@pytest.mark.parametrize(
    ("name", "normal", "verified"),
    [
        # hms-xname's sample inputs.
        pytest.param("X0C0S0B0N0", "x0c0s0b0n0", "x0c0s0b0n0", id="upper-case"),
        pytest.param("x0001c00s05b0n0", "x1c0s5b0n0", "x1c0s5b0n0", id="zeros-everywhere"),
        pytest.param("x00c0s27b0n0", "x0c0s27b0n0", "x0c0s27b0n0", id="zero-padded-cabinet"),
        pytest.param("x0c0s0b0n01", "x0c0s0b0n1", "x0c0s0b0n1", id="zero-padded-node"),
        pytest.param(" x0c0s0b0n0 ", "x0c0s0b0n0", "x0c0s0b0n0", id="padded"),
        pytest.param("x10000c0s0b0n0", "x10000c0s0b0n0", None, id="cabinet-5-digits"),
        pytest.param("x0c8s0b0n0", "x0c8s0b0n0", None, id="chassis-8"),
        pytest.param("0c0s27b0n0", "0c0s27b0n0", None, id="no-x"),
        pytest.param("x0c0s27b0n0s0", "x0c0s27b0n0s0", None, id="trailing-junk"),
        pytest.param("ncnw001", "ncnw1", None, id="ncn-hostname"),
        # More: zeros that are the whole number stay, other types, white space kinds.
        pytest.param("x0c0s0b0n0", "x0c0s0b0n0", "x0c0s0b0n0", id="already-normal"),
        pytest.param("x0000", "x0", "x0", id="cabinet-all-zeros"),
        pytest.param("x3000c0s19b1n0", "x3000c0s19b1n0", "x3000c0s19b1n0", id="inner-zeros-kept"),
        pytest.param("x1000c0s0b0n0v03", "x1000c0s0b0n0v3", "x1000c0s0b0n0v3", id="vnode"),
        pytest.param("S0", "s0", "s0", id="system-upper"),
        pytest.param("ALL", "all", "all", id="all-upper"),
        pytest.param("d00w01", "d0w1", "d0w1", id="cdu-switch"),
        pytest.param("\tx0c0s0b0n0\n", "x0c0s0b0n0", "x0c0s0b0n0", id="tab-newline"),
        pytest.param("", "", None, id="empty"),
        pytest.param("   ", "", None, id="blank"),
        pytest.param("garbage", "garbage", None, id="garbage"),
    ],
)
def test_normalize_and_verify(name: str, normal: str, verified: str | None) -> None:
    assert normalize(name) == normal
    assert verify_normalize(name) == verified


def test_normalize_is_idempotent_and_verify_returns_a_recognized_name() -> None:
    for name in ["X0001C00S05B0N0", "x00c0s27b0n0", " d00 ", "P01.02", "sms007"]:
        once = normalize(name)
        assert normalize(once) == once
        verified = verify_normalize(name)
        assert verified == once
        assert hms_type(verified) is not None


@pytest.mark.parametrize(
    ("name", "verified"),
    [
        pytest.param("x" + "0" * 100 + "c0s0b0n0", "x0c0s0b0n0", id="long-zero-run-ok"),
        pytest.param("x0c0s0b0n" + "1" * MAX_XNAME_LENGTH, None, id="overlong-after-normalize"),
        pytest.param("x0c0s0b0n0" + " " * 200, None, id="overlong-raw"),
    ],
)
def test_length_caps(name: str, verified: str | None) -> None:
    assert verify_normalize(name) == verified
    assert hms_type("x0c0s0b0n" + "1" * MAX_XNAME_LENGTH) is None
