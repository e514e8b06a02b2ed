"""Every request answered 2xx is stored span for span with the ids Python saw; every other one is
refused before the acknowledgement (the fast CI share of ``bench/fuzz_differential.py``)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

sys.path.insert(0, str(Path(__file__).parent / "soak"))
from differential import Differential, mutated_request

from tracelock.store import Store


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(0, 2**32))
def test_acknowledged_is_stored_exactly(store: Store, seed: int) -> None:
    rng = random.Random(seed)
    differential = Differential(store)
    differential.check([mutated_request(rng) for _ in range(100)])
    assert differential.failures == []
    assert differential.inputs == 100
