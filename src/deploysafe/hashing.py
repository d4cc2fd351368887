"""SHA-256 for fingerprints and secret hashes: CPython's own, as `random` takes its
SHA-512. hashlib prefers OpenSSL's and loads it (4 ms of every scan's start) for texts of
a few dozen bytes, which CPython's hashes in as few instructions."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hashlib import sha256
else:
    try:
        from _sha2 import sha256  # Python 3.12 on
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:  # an interpreter built without them
            from hashlib import sha256

__all__ = ["sha256"]
