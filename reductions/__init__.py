"""Reductions between problems, chains, the registry, verification and the command line."""

__all__: list[str] = []
