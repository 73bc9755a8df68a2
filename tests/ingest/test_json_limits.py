"""json_limits.nesting_depth against the depth of the decoded value, on JSON that hides brackets, quotes and
backslashes in strings; and the hostile shapes it must refuse or measure without recursion."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.ingest.json_limits import MAX_NESTING, JsonLimitError, check_nesting, nesting_depth

_TRICKY = st.text(alphabet=st.sampled_from(['[', ']', '{', '}', '"', '\\', 'a', ' ', '\n', 'é', '\ud800']), max_size=8)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TRICKY,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_TRICKY, children, max_size=4),
    max_leaves=40,
)


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(item) for item in value.values()), default=0)
    return 0


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.booleans())
def test_depth_is_the_depth_of_the_decoded_value(value, ascii_only):
    raw = json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    assert nesting_depth(raw) == depth_of(value)


@pytest.mark.parametrize("depth", [MAX_NESTING - 1, MAX_NESTING, MAX_NESTING + 1, 5_000, 200_000])
@pytest.mark.parametrize("shape", ["array", "object", "alternating"])
def test_deep_documents_are_measured_and_refused_past_the_limit(depth, shape):
    opener, closer = {"array": ("[", "]"), "object": ('{"k":', "}"), "alternating": ('[{"k":', "}]")}[shape]
    levels = depth // 2 if shape == "alternating" else depth
    raw = (opener * levels + '"[{"' + closer * levels).encode()
    expected = levels * (2 if shape == "alternating" else 1)
    assert nesting_depth(raw) == expected
    if expected > MAX_NESTING:
        with pytest.raises(JsonLimitError, match=f"nested {expected} levels deep"):
            check_nesting(raw, "x.sarif")
    else:
        check_nesting(raw, "x.sarif")


def test_many_thin_chains_just_past_the_limit_are_refused():
    chain = "[" * (MAX_NESTING + 1) + "]" * (MAX_NESTING + 1)
    raw = ("[" + ",".join([chain] * 2_000) + "]").encode()
    assert nesting_depth(raw) == MAX_NESTING + 2
    with pytest.raises(JsonLimitError):
        check_nesting(raw, "x.sarif")


def test_escapes_never_end_a_string_early():
    assert nesting_depth(b'["\\\\", [[]]]') == 3  # an escaped backslash, then the string ends
    assert nesting_depth(b'["\\\\\\"[[[[", []]') == 2  # backslash, escaped quote: still inside the string
    assert nesting_depth(b'{"a": "[[[[[[[[[[{{{{{{{", "b": [[1]]}') == 3
