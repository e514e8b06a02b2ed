"""What a slice needs to count as covered by the coverage report: the defaults of ``report coverage``
and of the board's case board. Apart from coverage.py so the CLI can show them without loading it."""

__all__ = ["MIN_EVAL_CASES", "MIN_LOCKS"]

#: Eval cases a slice needs to count as covered (the divergence report judges a slice from 10 too).
MIN_EVAL_CASES = 10
#: Lock cases a slice needs to count as locked.
MIN_LOCKS = 1
