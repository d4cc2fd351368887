"""PSS restricted `restrictedVolumes`: only volume types that cannot reach the node."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map, pod_template
from deploysafe.model import Document, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.pss._common import restricted_pod

ALLOWED = frozenset(
    {
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "image",
        "persistentVolumeClaim",
        "projected",
        "secret",
    }
)


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
        vol = as_map(vol)
        sources = [k for k, v in vol.items() if k != "name" and v is not None]
        # No source at all is defaulted to emptyDir by the API server.
        if not sources or any(s in ALLOWED for s in sources):
            continue
        yield Violation(
            (*pod.spec_path, "volumes", i, sources[0]),
            f"volume {vol.get('name', '<unnamed>')!r} has restricted type {sources[0]}",
        )


RULE = Rule(
    id="DS213",
    title="Pods may use only restricted volume types",
    practice=Practice.ENVIRONMENT,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "Inline volume types such as hostPath, nfs, iscsi, rbd, cephfs or gitRepo let a pod "
        "author mount storage (or the node) that the cluster administrator never provisioned, "
        "bypassing PersistentVolume access control; gitRepo has run code on the node."
    ),
    fix="Use configMap, csi, downwardAPI, emptyDir, ephemeral, image, persistentVolumeClaim, "
    "projected or secret volumes; move network storage behind a PersistentVolume and claim it.",
    bad=restricted_pod(
        tail="""\
  volumes:
  - name: data
    nfs: {server: nfs.example, path: /exports/data}
"""
    ),
    good=restricted_pod(
        tail="""\
  volumes:
  - name: data
    persistentVolumeClaim: {claimName: data}
"""
    ),
    references=(
        "PSS restricted: Volume Types",
        "Trivy KSV-0028",
    ),
    pss=PssRef(Level.RESTRICTED, "restrictedVolumes", overrides="hostPathVolumes"),
)
