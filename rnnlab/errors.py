"""The one exception family the CLI turns into a one-line message and exit code 2.

Anything else that escapes is a bug in rnnlab, not bad input, and is reported as such.
"""


class RnnlabError(Exception):
    """Bad input from the user: the message says what, where, and how to fix it."""


class ConfigError(RnnlabError):
    """The YAML file or a --set override is not a valid config."""


class DataError(RnnlabError):
    """A dataset could not be found, read or encoded."""


class RunError(RnnlabError):
    """A run folder is missing, locked, or does not match the config."""


class Interrupted(RunError):
    """Training was stopped by Ctrl-C or SIGTERM; the message says how to resume."""

    exit_code = 130
