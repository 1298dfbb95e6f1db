"""Synthetic Data First: a synthetic copy of the MoJ Data First linked datasets, and tools to learn on it.

Everything this package makes is synthetic. No record describes a real person.
"""

from __future__ import annotations

__version__ = "0.1.0"

from sdfirst.database import connect  # after __version__, which submodules import

__all__ = ["__version__", "connect", "generate"]


def generate(*args, **kwargs):
    """Generate a synthetic population and its records (see :func:`sdfirst.synth.generate`)."""
    from sdfirst.synth import generate as _generate

    return _generate(*args, **kwargs)
