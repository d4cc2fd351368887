"""An environment's `source:`: where it may be deployed from (`deploysafe verify`).

    environments:
      prod:
        source:
          repos: [github.com/acme/shop]          # allowed origin remotes
          refs: [refs/heads/main, refs/tags/v*]    # allowed branches and tags (globs)
          signed_by:
            gpg: [FINGERPRINT...]                  # accepted primary-key fingerprints
            gpg_keys: keys/release-signers.asc     # their public keys, armored
            ssh_allowed_signers: keys/allowed_signers

Relative key paths are relative to the folder of the policy file.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from deploysafe.config.reader import Reader, quotable, quoted
from deploysafe.frozen import record
from deploysafe.model import KeyPath

KEYS = frozenset({"repos", "refs", "signed_by"})
SIGNED_BY_KEYS = frozenset({"gpg", "gpg_keys", "ssh_allowed_signers"})
_FINGERPRINT = re.compile(r"[0-9A-F]{40}|[0-9A-F]{64}")
_LONG_KEY_ID = re.compile(r"[0-9A-F]{16}")
_KEY_ID = re.compile(r"[0-9A-F]{8}|[0-9A-F]{16}")


@record
class SignedBy:
    gpg: tuple[str, ...] = ()  # primary-key fingerprints, upper-case hex
    gpg_keys: Path | None = None
    ssh_allowed_signers: Path | None = None


@record
class SourcePolicy:
    repos: tuple[str, ...] = ()
    refs: tuple[str, ...] = ()
    signed_by: SignedBy | None = None


def gpg_key(r: Reader, value: Any, p: KeyPath, *, key_id_ok: bool) -> str:
    """A GPG key as upper-case hex, written with or without spaces and `0x`.

    Which key *signs* a release (`sign.gpg_key`, `key_id_ok=True`) may also be named by its
    long key ID (16 hex digits): gpg picks it from the deployer's own keyring, and a wrong
    key only makes `verify` refuse the release. Which signatures are *trusted*
    (`source.signed_by.gpg`) must be a full fingerprint (40 hex digits, 64 for v5 keys):
    key IDs are a suffix of the fingerprint, and anyone can make a key whose ID collides
    with a listed one. Short key IDs (8 hex digits) are refused everywhere."""
    raw = r.string(value, p)
    key = re.sub(r"\s+", "", raw).upper().removeprefix("0X")
    if _FINGERPRINT.fullmatch(key) or (key_id_ok and _LONG_KEY_ID.fullmatch(key)):
        return key
    if key_id_ok:
        raise r.fail(p, "expected a key fingerprint (40 hex digits) or long key ID (16 hex digits)")
    # A key ID (8 or 16 hex digits) is public: quoted, so that the user sees which one.
    shown = repr(raw) if _KEY_ID.fullmatch(key) else quoted(raw)
    raise r.fail(
        p,
        f"{shown} is not a primary-key fingerprint (40 hex digits; key IDs can collide "
        "and are not accepted)",
    )


def _name(ref: str) -> str:
    return ref if quotable(ref) else "<name>"


def parse(r: Reader, value: Any, p: KeyPath, base: Path) -> SourcePolicy:
    src = r.mapping(value, p, KEYS)
    repos = r.strings(src.get("repos"), (*p, "repos"))
    refs = r.strings(src.get("refs"), (*p, "refs"))
    for i, ref in enumerate(refs):
        if not ref.startswith("refs/"):
            raise r.fail(
                (*p, "refs", i),
                f"{quoted(ref)} is not a full ref: write refs/heads/{_name(ref)} or "
                f"refs/tags/{_name(ref)}",
            )
    signed_by = None
    if "signed_by" in src:
        signed_by = _signed_by(r, src["signed_by"], (*p, "signed_by"), base)
    return SourcePolicy(repos, refs, signed_by)


def _signed_by(r: Reader, value: Any, p: KeyPath, base: Path) -> SignedBy:
    s = r.mapping(value, p, SIGNED_BY_KEYS)
    fprs = tuple(
        gpg_key(r, raw, (*p, "gpg", i), key_id_ok=False)
        for i, raw in enumerate(r.strings(s.get("gpg"), (*p, "gpg")))
    )
    keys = _file(r, s.get("gpg_keys"), (*p, "gpg_keys"), base)
    allowed = _file(r, s.get("ssh_allowed_signers"), (*p, "ssh_allowed_signers"), base)
    if fprs and keys is None:
        raise r.fail(p, "`gpg` fingerprints need `gpg_keys`: the armored public keys to check with")
    if keys is not None and not fprs:
        raise r.fail(p, "`gpg_keys` without `gpg`: list the fingerprints to accept")
    if not fprs and allowed is None:
        raise r.fail(
            p, "name at least one accepted signer: `gpg` (+ `gpg_keys`) or `ssh_allowed_signers`"
        )
    return SignedBy(fprs, keys, allowed)


def _file(r: Reader, value: Any, p: KeyPath, base: Path) -> Path | None:
    if value is None:
        return None
    raw = r.string(value, p)
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = base / path
    if not path.is_file():
        raise r.fail(p, f"no such file: {path if quotable(raw) else quoted(raw)}")
    return path
