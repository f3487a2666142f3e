"""Range patterns, cabinet topologies and HSM's default NID."""

from __future__ import annotations

import pytest

from hb_sim.scenario import format_duration
from hb_sim.xnames import bogus_nid, cabinet_of, expand_range, topology_xnames


def test_expand_range_order_and_lists() -> None:
    assert expand_range("x1000c[0-1]s0b0n[0-1]") == [
        "x1000c0s0b0n0",
        "x1000c0s0b0n1",
        "x1000c1s0b0n0",
        "x1000c1s0b0n1",
    ]
    assert expand_range("x1c0s[0-1,5,7-8]b0n0") == [f"x1c0s{s}b0n0" for s in (0, 1, 5, 7, 8)]
    assert expand_range("x3000c0s19b1n0") == ["x3000c0s19b1n0"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ("x1000c[0-", "unbalanced bracket"),
        ("x1000c0-1]", "unbalanced bracket"),
        ("x1000c[a-b]", "bad number list"),
        ("x1000c[]", "bad number list"),
        ("x1000c[3-1]", "the end is below the start"),
        ("x[0-999999999]", "too large"),
        ("x[0-999]c[0-999]s[0-999]", "more than"),
    ],
)
def test_expand_range_errors(pattern: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        expand_range(pattern)


def test_topology() -> None:
    names = list(topology_xnames(cabinets=2, first_cabinet=3000))
    assert len(names) == 512
    assert names[0] == "x3000c0s0b0n0"
    assert names[255] == "x3000c7s7b1n1"
    assert names[256] == "x3001c0s0b0n0"
    small = list(topology_xnames(cabinets=1, chassis=1, slots=2, boards=1, nodes=1))
    assert small == ["x1000c0s0b0n0", "x1000c0s1b0n0"]


def test_bogus_nid_and_cabinet() -> None:
    assert bogus_nid("x0c0s0b0n0") == 16384
    assert bogus_nid("x1000c7s7b1n1") == 1001 * 16384 + 7 * 2048 + 7 * 32 + 4 + 1
    assert bogus_nid("x1000c0s0b0") is None
    assert cabinet_of("x1000c7s7b1n1") == "x1000"
    assert cabinet_of("d0") is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(90.0, "1m30s"), (0.5, "500ms"), (3600.0, "1h"), (0.0, "0s"), (2.5, "2.5s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
