"""The errors deploysafe raises on purpose, by what went wrong.

The kind of a failure decides the exit code (the command line maps it in one place,
deploysafe.cli.exits): a wrong command or policy file, an input that could not be read, or a
gate that said no. A module may define its own error for its callers to catch, based on one of
these kinds. Exceptions that never reach the command line stay plain and say so where they
are defined: a YAML problem returned as a value (every caller turns it into a scan error or a
ConfigError), a CI expression a caller treats as unknown, the webhook's HTTP answers, a lost
release race that is retried, a render failure turned into a scan error.

This module imports nothing from deploysafe: every layer may raise these.
"""

from __future__ import annotations


class DeploysafeError(Exception):
    """An error deploysafe explains to the user; the message says what to do."""


class UsageError(DeploysafeError):
    """The command as given cannot run: a bad option, a missing file it names (exit 2)."""


class ConfigError(UsageError):
    """The policy file is wrong; the message names the file, line and key (exit 2)."""


class InputError(DeploysafeError):
    """An input could not be read or is not what it should be (exit 3)."""


class GateRefused(DeploysafeError):
    """A gate said no: the request is valid but must not be done as asked (exit 1)."""


class Cancelled(DeploysafeError):
    """A signal (SIGTERM, SIGHUP) stopped the command; what it started was cleaned up
    (exit 143, as a shell reports SIGTERM)."""
