"""Errors that reach the user as one clear message, never as a traceback."""

from realmctl import exitcodes


class RealmctlError(Exception):
    """An error with a message meant for the user and the exit code it maps to."""

    exit_code = exitcodes.ERROR


class ConnectionFailed(RealmctlError):
    """The server could not be reached, or it refused realmctl's credentials."""

    exit_code = exitcodes.CONNECTION
