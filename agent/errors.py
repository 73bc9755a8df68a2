"""The one exception family suture raises for problems a user can act on.

The CLI turns a SutureError into a one-line message and exit code 2; anything else is a bug.
"""


class SutureError(Exception):
    """A problem with input, configuration or environment, explained in one line."""

    exit_code = 2
