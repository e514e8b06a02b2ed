"""Properties of normalisation on arbitrary attribute sets: it never raises, is idempotent, and reports a
conflict exactly when sources disagree."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tracelock.semconv import ALIAS_TO_CANONICAL, EXPANDER_FUNCS, normalize_attributes, same_value

NAMES = st.sampled_from(
    sorted({*ALIAS_TO_CANONICAL, *ALIAS_TO_CANONICAL.values(), *EXPANDER_FUNCS, "http.route", "x.y"})
)
VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False),
    st.booleans(),
    st.sampled_from(
        ['{"input": 3, "output": 4}', '{"intent": "refund", "team": "x"}', '"enterprise"', "Anthropic", "{"]
    ),
)
ATTRS = st.dictionaries(NAMES, VALUES, max_size=12)


@settings(max_examples=400, deadline=None)
@given(ATTRS)
def test_normalisation_never_raises_is_idempotent_and_loses_nothing(attrs: dict) -> None:
    once, conflicts_once = normalize_attributes(attrs)
    twice, conflicts_twice = normalize_attributes(once)
    assert twice == once
    assert {c.key for c in conflicts_twice} <= {c.key for c in conflicts_once}
    for name, value in attrs.items():  # every source attribute survives as sent
        if name in ALIAS_TO_CANONICAL or name in EXPANDER_FUNCS:
            assert once[name] == value


@settings(max_examples=400, deadline=None)
@given(ATTRS)
def test_a_conflict_lists_disagreeing_sources_and_keeps_the_first(attrs: dict) -> None:
    normalised, conflicts = normalize_attributes(attrs)
    for conflict in conflicts:
        values = [value for _, value in conflict.candidates]
        assert len(values) >= 2
        assert any(not same_value(values[0], v) for v in values[1:])
        assert same_value(normalised[conflict.key], conflict.kept)
        assert conflict.kept == values[0]
