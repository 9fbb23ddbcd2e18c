"""Benchmarks behind ``reductions bench NAME``, one module per thing timed, JSON out.

:mod:`~reductions.app.bench.reductions` (forward maps),
:mod:`~reductions.app.bench.solve` (end to end),
:mod:`~reductions.app.bench.exact` (the exact oracle against a ``numpy.exp`` pass),
:mod:`~reductions.app.bench.oracles` (polynomial and Taylor against exact),
:mod:`~reductions.app.bench.anytemp` (any temperature against exact);
:mod:`~reductions.app.bench.timing` holds what they share (the timer, the
machine record, the report shape, the memory check) and
:mod:`~reductions.app.bench.command` the command line.
"""
