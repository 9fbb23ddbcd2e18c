"""Benchmarks behind ``reductions bench NAME``, one module per thing timed, JSON out."""
