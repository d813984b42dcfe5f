"""Benchmarks: ``python -m bench`` (everything, a few minutes) and ``python -m bench.encoder_variants``.

They print figures; they assert nothing (speed targets do not belong in unit tests).
"""
