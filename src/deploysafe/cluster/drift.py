"""Drift: what runs against what the environment repository says should run.

`deploysafe audit --env ENV` reads the environment's current release (the files under
`target.path` at the head of its branch, as `deploysafe deploy` wrote them) and compares
it with the live objects of a cluster dump:

- changed: a field the release sets has another value in the cluster (or is gone);
- missing: the release has the object, the cluster does not;
- extra: the cluster has an object of a kind the release manages, in one of the
  tenant's namespaces, that the release does not have (applied by hand, left behind).

Fields only the cluster has are not compared: the API server fills in defaults and
controllers write their own (a `kubectl get` dump has no field ownership to tell them
from a hand edit); deploysafe's rules still judge every field. Objects a controller owns
(ReplicaSets, Pods) are not in any release, so they are left out. Secret values, and what
the secrets rules would flag elsewhere (`k8s.masking`), are compared, never shown.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from deploysafe.frozen import record
from deploysafe.gitops.manifests import Key, key_of, objects_in
from deploysafe.host.urls import public_url
from deploysafe.k8s.masking import MASK, SECRET_FIELDS, is_secret, masked
from deploysafe.k8s.pods import as_list, as_map
from deploysafe.k8s.tenancy import Tenant
from deploysafe.model import Document, pointer

_SHOW = 200  # characters of a value shown; an image with its digest fits


@record
class FieldDiff:
    path: str  # JSON pointer into the object
    release: str  # the value as the release has it (shown, cut, Secret values masked)
    cluster: str


@record
class Drift:
    action: str  # changed, missing, extra
    key: Key
    fields: tuple[FieldDiff, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            **self.key.to_json(),
            "fields": [
                {"path": f.path, "release": f.release, "cluster": f.cluster} for f in self.fields
            ],
        }


@record(frozen=False)
class DriftReport:
    environment: str
    release: str | None
    commit: str | None
    drifts: list[Drift] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "environment": self.environment,
            "release": self.release,
            "commit": self.commit,
            "objects": [d.to_json() for d in self.drifts],
            "notes": self.notes,
        }

    def render(self) -> str:
        head = f"release {self.release}" if self.release else "no release record"
        where = f", environment commit {self.commit[:12]}" if self.commit else ""
        out = [f"Drift against environment {self.environment} ({head}{where})"]
        for d in self.drifts:
            if d.action == "changed":
                out.append(f"  ~ {d.key.display()}")
                out += [
                    f"      {f.path}: release {f.release}, cluster {f.cluster}" for f in d.fields
                ]
            elif d.action == "missing":
                out.append(f"  - {d.key.display()} (in the release, not in the cluster)")
            else:
                out.append(f"  + {d.key.display()} (in the cluster, not in the release)")
        out += [f"  note: {n}" for n in self.notes]
        if self.drifts:
            out.append(f"  {len(self.drifts)} object(s) drifted")
        else:
            out.append("  no drift")
        return "\n".join(out) + "\n"


def _show(value: Any, secret: bool) -> str:
    if secret:
        return MASK
    if value is _ABSENT:
        return "(absent)"
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= _SHOW else text[: _SHOW - 1] + "…"


_ABSENT = object()


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return bool(a == b) and type(a) is type(b)


def field_diffs(
    want: Any, have: Any, path: tuple[str | int, ...] = (), secret: bool = False
) -> Iterator[FieldDiff]:
    """Where `have` differs from `want`, for every field `want` sets."""
    if isinstance(want, dict):
        if not isinstance(have, dict):
            yield FieldDiff(pointer(path), _show(want, secret), _show(have, secret))
            return
        for k, v in want.items():
            sub = secret or (len(path) == 0 and k in SECRET_FIELDS and is_secret(want))
            if k not in have:
                if v is None or v == {} or v == []:
                    continue  # an empty value the API server drops
                yield FieldDiff(pointer((*path, k)), _show(v, sub), _show(_ABSENT, False))
            else:
                yield from field_diffs(v, have[k], (*path, k), sub)
    elif isinstance(want, list):
        if not isinstance(have, list) or len(want) != len(have):
            yield FieldDiff(pointer(path), _show(want, secret), _show(have, secret))
            return
        for i, (w, h) in enumerate(zip(want, have, strict=True)):
            yield from field_diffs(w, h, (*path, i), secret)
    elif not _same(want, have):
        yield FieldDiff(pointer(path), _show(want, secret), _show(have, secret))


def _as_stored(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """A core Secret's stringData as the API server stores it (base64 in data)."""
    core = is_secret(data) and data.get("apiVersion") == "v1"
    if not core or not isinstance(data.get("stringData"), dict):
        return data
    out = dict(data)
    merged = dict(as_map(out.get("data")))
    for k, v in out.pop("stringData").items():
        merged[k] = base64.b64encode(str(v).encode()).decode()
    out["data"] = merged
    return out


def _controlled(doc: Document) -> bool:
    return any(
        as_map(r).get("controller") is True for r in as_list(doc.metadata.get("ownerReferences"))
    )


def compare(
    desired: Mapping[Key, Mapping[str, Any]],
    live: Sequence[Document],
    tenant: Tenant,
) -> tuple[list[Drift], list[str]]:
    """Drift between a release's objects and the live objects of a dump."""
    managed_kinds = {(k.group, k.kind) for k in desired}
    dumped_kinds = {(key_of(d.data).group, d.kind) for d in live}
    in_scope: dict[Key, Mapping[str, Any]] = {}
    for d in live:
        if _controlled(d):
            continue
        key = key_of(d.data)
        if key in desired or (
            (key.group, key.kind) in managed_kinds and key.namespace and tenant.owns(key.namespace)
        ):
            in_scope[key] = d.data
    drifts: list[Drift] = []
    for key in sorted(desired):
        if key not in in_scope:
            if (key.group, key.kind) in dumped_kinds:
                drifts.append(Drift("missing", key))
            continue
        # Compared masked: a masked value carries its hash, so a change still shows, and
        # what the secrets rules would flag in any object (an env literal) is never printed.
        fields = tuple(field_diffs(masked(_as_stored(desired[key])), masked(in_scope[key])))
        if fields:
            drifts.append(Drift("changed", key, fields))
    drifts += [Drift("extra", key) for key in sorted(set(in_scope) - set(desired))]
    notes = []
    absent = sorted({k.kind for k in desired if (k.group, k.kind) not in dumped_kinds})
    if absent:
        notes.append(
            f"the dump has no {', '.join(absent)} objects at all: those were not compared "
            "(add them to the kubectl get)"
        )
    return drifts, notes


def against_environment(
    cfg: Any, name: str, live: Sequence[Document], workdir: Path
) -> DriftReport:
    """Drift of `live` against environment `name`'s current release.

    Raises ConfigError (unknown or invalid environment) or GitOpsError (the environment
    repository cannot be read)."""
    from deploysafe.gitops.environments import load_environment
    from deploysafe.gitops.manifests import ReleaseSetError
    from deploysafe.gitops.pipeline import GitOpsError, open_env

    env = load_environment(cfg, name)
    state = open_env(env, workdir)
    try:
        desired = objects_in(state.files)
    except ReleaseSetError as exc:
        raise GitOpsError(f"{public_url(env.target.repo)}: {exc}") from None
    report = DriftReport(
        name,
        state.record.release if state.record is not None else None,
        state.head,
        notes=list(state.notes),
    )
    if state.head is None:
        report.notes.append(
            f"{public_url(env.target.repo)} has no {env.target.branch} branch yet: nothing released"
        )
    report.drifts, notes = compare(desired, live, env.tenant)
    report.notes += notes
    return report
