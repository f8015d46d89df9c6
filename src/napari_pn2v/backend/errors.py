"""The one exception type the front ends turn into a message for the user."""


class PN2VError(ValueError):
    """Bad input or a bad file: the message is meant for the user, not a traceback."""


class Stopped(Exception):
    """A stop was requested: the work in hand (a validation, the spread's choice) is dropped
    and what was there before it stays."""
