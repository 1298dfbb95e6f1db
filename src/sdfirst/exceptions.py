"""Errors that the command line turns into one clear line and a non-zero exit."""


class DataFirstError(Exception):
    """A problem with the user's input or environment, explained in one line (never a bug)."""
