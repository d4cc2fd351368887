"""PSS baseline `hostPathVolumes`: pods must not mount directories of the node."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map, pod_template
from deploysafe.model import Document, Level, Practice, PssRef, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule
from deploysafe.rules.environment.pss._common import BASELINE_NAMESPACE, POD_HEAD, is_set


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
        vol = as_map(vol)
        if is_set(vol, "hostPath"):
            where = as_map(vol["hostPath"]).get("path", "?")
            yield Violation(
                (*pod.spec_path, "volumes", i, "hostPath"),
                f"volume {vol.get('name', '<unnamed>')!r} mounts host path {where}",
            )


RULE = Rule(
    id="DS204",
    title="Pods must not use hostPath volumes",
    practice=Practice.ENVIRONMENT,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    pod_only=True,
    check=check,
    why=(
        "A hostPath volume hands the container a directory of the node: the container runtime "
        "socket, /etc, kubelet credentials or /var/log symlink tricks turn it into root on the "
        "node and a way into every other pod there."
    ),
    fix="Replace the hostPath volume with an emptyDir, a ConfigMap/Secret, or a "
    "PersistentVolumeClaim; node agents that truly need the host belong in a namespace "
    "with the privileged level.",
    bad=BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
  volumes:
  - name: data
    hostPath: {path: /var/lib/app}
""",
    good=BASELINE_NAMESPACE
    + POD_HEAD
    + """\
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
  volumes:
  - name: data
    emptyDir: {}
""",
    references=(
        "PSS baseline: HostPath Volumes",
        "CIS Kubernetes 5.2.12",
        "kube-linter sensitive-host-mounts",
        "Trivy KSV-0023",
        "Kubescape C-0048",
    ),
    pss=PssRef(Level.BASELINE, "hostPathVolumes"),
)
