"""Solvers that answer one problem directly: reference solvers and attention oracles."""

__all__: list[str] = []
