"""A pull page that fits its byte budget by the bound taken from the changes' compact texts fits it exactly too:
the bound is never below the size the budget counts, whatever the text holds (escapes, CJK, astral characters,
DEL, separators inside strings), in either escaping the reply may use."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.engine import _SIZE_ENCODER, _size_bound
from sync.protocol import ChangeEncoder

_TEXT = st.text(max_size=40) | st.sampled_from(
    ["", "a,b:c", '"\\', "\x7f", "\x00\x1f\n", "中文：逗号，", "🔥𝄞", "\u2028"]
)
_VALUE = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(data=st.none() | st.dictionaries(_TEXT, _VALUE, max_size=6), ensure_ascii=st.booleans(),
       sort_keys=st.booleans())  # fmt: skip
def test_the_bound_is_never_below_the_counted_size(data: Any, ensure_ascii: bool, sort_keys: bool) -> None:
    message = {"entity": "hazard", "id": "隐患-1", "version": 1, "deleted": data is None, "data": data}
    text = ChangeEncoder(ensure_ascii=ensure_ascii, sort_keys=sort_keys)(message)
    assert text is not None and json.loads(text) == json.loads(json.dumps(message))
    assert _size_bound(text) >= len(_SIZE_ENCODER.encode(message).encode("utf-8"))


def test_a_message_json_cannot_write_is_left_to_the_schema() -> None:
    message = {"entity": "hazard", "id": "1", "version": 1, "deleted": False, "data": {"at": object()}}
    assert ChangeEncoder(ensure_ascii=True, sort_keys=True)(message) is None
