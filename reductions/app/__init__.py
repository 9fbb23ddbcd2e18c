"""The application: the ``reductions`` command line (:mod:`~reductions.app.cli`),
benchmarks (:mod:`reductions.app.bench`) and teaching figures (:mod:`reductions.app.figures`).

It reads the framework and the catalogue; neither imports anything from here.
"""
