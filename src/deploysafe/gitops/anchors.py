"""Where the trust anchors of a deploy come from: the `source` policy (allowed repos, refs,
signing keys and their public key material) that a checkout is verified against.

A commit cannot vouch for itself, so the anchors never come from the checkout being verified
when anything else can say them. In order:

1. host:      the policy file lies outside the checkout (`--config` on the CD host), and so
              does every key file it names: its `source` is authoritative.
2. record:    the anchors recorded with the environment's current release. The checkout's
              own `source` may differ (keys added, removed, rotated): it is accepted, and
              recorded for the next release, only because the commit passed verification
              against the recorded anchors, i.e. it is signed by a key the *previous* anchors
              trust. When the recorded anchors list no signing keys, no change is accepted.
3. first use: no release recorded anchors yet: the checkout's `source` is used only with
              `--trust-on-first-use`; without it the deploy is refused.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from deploysafe.config.source import SignedBy, SourcePolicy
from deploysafe.frozen import record
from deploysafe.gitops.record import Record, RecordError
from deploysafe.host.git import Git

MAX_KEY_FILE = 1024 * 1024  # bytes of one key file copied into the release record


class TrustError(Exception):
    """No anchors the checkout cannot change; the message says what to do. Turned into a
    failed verify check by the callers, never raised to the command line."""


@record
class Anchors:
    policy: SourcePolicy  # what the checkout is verified against
    origin: str  # host, record or first-use
    label: str  # one line: where they come from
    recorded: Mapping[str, Any]  # what this release records for the next one
    note: str = ""  # an accepted change of the anchors, or the first-use warning

    def as_dict(self) -> dict[str, Any]:
        return {"from": self.origin, "detail": self.label, "note": self.note or None}


def _read_key_file(path: Path) -> str:
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_KEY_FILE + 1)
    except OSError as exc:
        raise TrustError(f"cannot read key file {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_KEY_FILE:
        raise TrustError(f"key file {path} is larger than {MAX_KEY_FILE} bytes")
    return data.decode("utf-8", errors="replace")


def snapshot(policy: SourcePolicy) -> dict[str, Any]:
    """The anchors as data, key material included, so a later release can check against
    exactly what this one trusted."""
    signed: dict[str, Any] | None = None
    if policy.signed_by is not None:
        s = policy.signed_by
        signed = {
            "gpg": list(s.gpg),
            "gpg_keys": _read_key_file(s.gpg_keys) if s.gpg_keys else None,
            "ssh_allowed_signers": (
                _read_key_file(s.ssh_allowed_signers) if s.ssh_allowed_signers else None
            ),
        }
    return {"repos": list(policy.repos), "refs": list(policy.refs), "signed_by": signed}


def _strings(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def restore(data: Any, folder: Path, where: str) -> SourcePolicy:
    """The anchors a record holds, key material written to files in `folder`."""
    bad = RecordError(f"{where}: `trust.anchors` is not what deploysafe writes")
    if not isinstance(data, dict):
        raise bad
    repos, refs = _strings(data.get("repos")), _strings(data.get("refs"))
    if repos is None or refs is None:
        raise bad
    signed = data.get("signed_by")
    if signed is None:
        return SourcePolicy(repos, refs, None)
    if not isinstance(signed, dict):
        raise bad
    gpg = _strings(signed.get("gpg"))
    if gpg is None:
        raise bad
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path | None] = {}
    for key in ("gpg_keys", "ssh_allowed_signers"):
        text = signed.get(key)
        if text is not None and not isinstance(text, str):
            raise bad
        files[key] = None
        if text is not None:
            path = folder / key
            path.write_text(text, encoding="utf-8")
            files[key] = path
    return SourcePolicy(repos, refs, SignedBy(gpg, files["gpg_keys"], files["ssh_allowed_signers"]))


def _inside(path: Path, checkout: Path) -> bool:
    return path.resolve().is_relative_to(checkout.resolve())


def on_host(config_path: str | None, policy: SourcePolicy, checkout: Path) -> bool:
    """The policy file and every key file it names lie outside the checkout: outside its
    whole work tree, not only the folder deployed from (`--source app/`)."""
    top = (
        Git(checkout, isolated=True).out("rev-parse", "--show-toplevel")
        if checkout.is_dir()
        else None
    )
    checkout = Path(top) if top else checkout
    if config_path is None or _inside(Path(config_path), checkout):
        return False
    s = policy.signed_by
    keys = [] if s is None else [p for p in (s.gpg_keys, s.ssh_allowed_signers) if p]
    return not any(_inside(p, checkout) for p in keys)


def choose(
    policy: SourcePolicy,
    *,
    config_path: str | None,
    checkout: Path,
    previous: Record | None,
    scratch: Path,
    trust_on_first_use: bool,
) -> Anchors:
    """The anchors to verify `checkout` against (see the module docstring)."""
    mine = snapshot(policy)
    if on_host(config_path, policy, checkout):
        return Anchors(policy, "host", f"the policy file on the CD host ({config_path})", mine)
    trust = previous.data.get("trust") if previous is not None else None
    if previous is not None and trust is not None:
        where = f"release {previous.release}'s record"
        if not isinstance(trust, dict):
            raise RecordError(f"{where}: `trust` is not what deploysafe writes")
        anchors = trust.get("anchors")
        recorded = restore(anchors, scratch / "anchors", where)
        label = f"the anchors recorded with release {previous.release}"
        if anchors == mine:
            return Anchors(recorded, "record", label, mine)
        if recorded.signed_by is None:
            raise TrustError(
                f"the checkout changes environments.<env>.source, but {label} list no signing "
                "keys, so no commit can authorise the change; deploy it once with --config "
                "naming a policy file on the CD host"
            )
        return Anchors(
            recorded,
            "record",
            label,
            mine,
            "the checkout changes the source policy (repos, refs or signing keys); accepted "
            f"only because it passes verification against {label}",
        )
    if not trust_on_first_use:
        first = "the first release"
        if previous is not None:
            first = f"release {previous.release} recorded no anchors"
        raise TrustError(
            f"{first}: the only source policy is the checkout's own deploysafe.yaml, which the "
            "verified commit could have written itself; pass --config with a policy file on "
            "the CD host, or --trust-on-first-use to accept this checkout's policy once"
        )
    return Anchors(
        policy,
        "first-use",
        "the checkout's own policy (--trust-on-first-use)",
        mine,
        "trust on first use: the checkout's own source policy was accepted without an "
        "independent anchor; later releases are checked against it",
    )
