"""`deploysafe audit`: the rules on what already runs, from a `kubectl get -o yaml` dump.

The dump is read with positions (findings point at its lines), server-set fields are
dropped (status, managedFields, resourceVersion, the last-applied annotation ...), objects a
controller in the same dump owns are left to their owner (a Deployment's ReplicaSets and
Pods would repeat its findings), and what the API server itself creates (the `kubernetes`
Service, `kube-root-ca.crt`, `default` ServiceAccounts) is skipped. The webhook's exempt
namespaces (kube-system unless configured) are skipped too.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Sequence
from dataclasses import replace

from deploysafe.cluster import live
from deploysafe.config import Config
from deploysafe.engine import Report, Scope, check_documents
from deploysafe.frozen import record
from deploysafe.inputs.documents import load_kubernetes
from deploysafe.k8s.pods import as_list, as_map
from deploysafe.model import Document, ScanError, Target
from deploysafe.rules import REGISTRY

# (kind, name) the API server and its controllers create in every cluster or namespace.
SERVER_OBJECTS = frozenset(
    {
        ("Service", "kubernetes"),
        ("Endpoints", "kubernetes"),
        ("EndpointSlice", "kubernetes"),
        ("ConfigMap", "kube-root-ca.crt"),
        ("ServiceAccount", "default"),
    }
)


@record
class Live:
    documents: list[Document]
    errors: list[ScanError]
    notes: list[str]


def _owned_by_listed(doc: Document, uids: set[str]) -> bool:
    for ref in as_list(doc.metadata.get("ownerReferences")):
        ref = as_map(ref)
        if ref.get("controller") is True and ref.get("uid") in uids:
            return True
    return False


def read(
    text: str,
    display: str,
    *,
    exempt_namespaces: Sequence[str] = (),
    include_owned: bool = False,
) -> Live:
    """The dump's objects, cleaned; what was skipped goes into notes."""
    loaded = load_kubernetes(text, display, strict=True)
    uids = {str(d.metadata["uid"]) for d in loaded.documents if d.metadata.get("uid")}
    docs: list[Document] = []
    owned = server = exempt = 0
    for d in loaded.documents:
        if not include_owned and _owned_by_listed(d, uids):
            owned += 1
            continue
        if (d.kind, d.name) in SERVER_OBJECTS:
            server += 1
            continue
        ns = d.namespace
        if ns is not None and any(fnmatch.fnmatchcase(ns, p) for p in exempt_namespaces):
            exempt += 1
            continue
        docs.append(
            Document(
                d.file,
                live.clean(d.data),
                d.positions,
                d.lines,
                d.default_namespace,
                d.rendered_from,
            )
        )
    notes = []
    if owned:
        notes.append(
            f"{owned} object(s) owned by a controller in the input were left to their owner "
            "(--include-owned checks them too)"
        )
    if server:
        notes.append(f"{server} object(s) the API server creates itself were skipped")
    if exempt:
        notes.append(
            f"{exempt} object(s) in exempt namespaces ({', '.join(exempt_namespaces)}) were skipped"
        )
    return Live(docs, list(loaded.errors), notes)


_LIVE = frozenset({Scope.LIVE})


def repository_only() -> list[str]:
    """The Kubernetes rules about what a repository holds, not what a cluster runs."""
    return sorted(
        r.id
        for r in REGISTRY
        if r.target in (Target.KUBERNETES, Target.KUBERNETES_SET) and not r.applies_to(_LIVE)
    )


def audit(live_input: Live, config: Config, *, today: dt.date | None = None) -> Report:
    """Findings as `scan` reports them, with the rules for live objects."""
    report = check_documents(live_input.documents, config, scopes=_LIVE, inline=False, today=today)
    skipped = ", ".join(repository_only())
    notes = [*live_input.notes, f"repository-only rules not run on live objects: {skipped}"]
    errors = tuple(
        sorted({*report.errors, *live_input.errors}, key=lambda e: (e.file, e.line or 0))
    )
    return replace(report, notes=(*report.notes, *notes), errors=errors, files=1)
