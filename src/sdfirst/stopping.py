"""The signals a command has been sent, and the one rule they impose: a run asked to stop commits nothing.

The signal handler raises in the main thread, but not every raise reaches the command: DuckDB turns a signal that
arrives during a query into its own error, and a library may catch that error (Splink drops its intermediate tables
in a best-effort `except Exception`). So the signal is also remembered here, and checked at the one point where a
run's output replaces the destination.
"""

from __future__ import annotations

import signal


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so that every `except BaseException` clean-up (temporary folders) runs."""


SIGNALS = (signal.SIGINT, signal.SIGTERM)
received: list[int] = []  # the signals this run has had, in order


def on_signal(signum: int, _frame: object) -> None:
    """The handler `sdfirst` installs for SIGINT and SIGTERM."""
    received.append(signum)
    _raise(signum)


def raise_if_stopped() -> None:
    """Raise the signal's exception again if one was received, even if something swallowed it the first time."""
    if received:
        _raise(received[-1])


def _raise(signum: int) -> None:
    raise Terminated if signum == signal.SIGTERM else KeyboardInterrupt
