"""The project's package (its title and team are in README.md and CITATION.cff).

Analysis code that runs unchanged on synthetic data and on the real extract (see config.py).
"""

__version__ = "0.1.0"
