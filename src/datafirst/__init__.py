"""Synthetic Data First: a synthetic copy of the MoJ Data First linked datasets, and tools to learn on it.

Everything this package makes is synthetic. No record describes a real person.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "connect", "generate"]


def connect(folder, read_only: bool = True):
    """Open a generated folder as a DuckDB connection, one schema per dataset (see :mod:`datafirst.connect`)."""
    from datafirst.connect import connect as _connect

    return _connect(folder, read_only=read_only)


def generate(*args, **kwargs):
    """Generate a synthetic population and its records (see :func:`datafirst.synth.generate`)."""
    from datafirst.synth import generate as _generate

    return _generate(*args, **kwargs)
