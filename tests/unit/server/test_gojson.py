"""The one Go-JSON encoder (#16): the bytes Go's encoding/json writes for the same values."""

from __future__ import annotations

import pytest

from hbtd_server.core import go_json


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"b": 1, "a": [True, None]}, b'{"b":1,"a":[true,null]}'),  # compact, order kept
        ("é ü 节点", '"é ü 节点"'.encode()),  # non-ASCII as UTF-8, never \u escapes
        ("<a href='x'>&</a>", b"\"\\u003ca href='x'\\u003e\\u0026\\u003c/a\\u003e\""),
        ("line\u2028para\u2029", b'"line\\u2028para\\u2029"'),
        ("lone \ud800 surrogate", '"lone \ufffd surrogate"'.encode()),
        ('tab\tquote"', b'"tab\\tquote\\""'),
    ],
)
def test_go_json_writes_what_go_writes(value: object, expected: bytes) -> None:
    assert go_json(value) == expected
