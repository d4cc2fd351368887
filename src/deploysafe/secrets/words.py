"""Word lists the secrets and defaults rules share: default passwords, default users,
placeholder markers. Data only."""

from __future__ import annotations

# Factory defaults and the first passwords anyone tries (compared lowercased). Practice 5:
# a value from this list is reported as a default credential, never treated as a placeholder.
DEFAULT_PASSWORDS = frozenset(
    {
        "123456",
        "1234567",
        "12345678",
        "123456789",
        "1234",
        "12345",
        "admin",
        "admin123",
        "admin1234",
        "administrator",
        "changeit",
        "changeme",
        "change_me",
        "changeme123",
        "default",
        "guest",
        "letmein",
        "minioadmin",
        "p@ssw0rd",
        "p@ssword",
        "pa$$w0rd",
        "pa$$word",
        "pass",
        "pass123",
        "passw0rd",
        "password",
        "password1",
        "password123",
        "postgres",
        "qwerty",
        "root",
        "secret",
        "test",
        "toor",
        "welcome",
    }
)
DEFAULT_USERS = frozenset({"admin", "administrator", "guest", "root", "sa", "test", "user"})

# Parts of a value that say "this is not a real secret" (compared lowercased).
PLACEHOLDER_MARKERS = (
    "example",
    "dummy",
    "sample",
    "placeholder",
    "redacted",
    "fake",
    "your_",
    "your-",
    "yourtoken",
    "yourkey",
    "yourpassword",
    "insert",
    "replace",
    "notreal",
    "not_real",
    "not-a-real",
    "xxxx",
    "****",
    "....",
    "####",
    "put_your",
    "token_here",
    "key_here",
    "here>",
    "todo",
    "foobar",
    "barfoo",
    "tbd",
    "…",  # an elided value: `"xoxp-…"`
)
