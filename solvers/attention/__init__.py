"""Attention oracles."""

__all__: list[str] = []
