"""DS599: containers should run with a read-only root filesystem."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import containers, pod_template
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.rules.base import AutoFix, Context, Edit, EditOp, Fix, Rule


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    # Windows containers cannot mount their root filesystem read-only.
    if pod is None or pod.is_windows or doc.kind == "PodTemplate":
        return
    for c in containers(pod):
        if c.field == "ephemeralContainers":  # debugging shells, added by hand at run time
            continue
        value = c.security_context.get("readOnlyRootFilesystem")
        if value is True:
            continue
        if value is None:
            where = (*c.path, "securityContext") if c.security_context else c.path
            said = "does not set readOnlyRootFilesystem"
        else:
            where = (*c.path, "securityContext", "readOnlyRootFilesystem")
            said = f"sets readOnlyRootFilesystem: {value}"
        yield Violation(
            where, f"{c.label} {said}: whatever runs in it can rewrite its binaries and config"
        )


def fixer(doc: Document, path: KeyPath) -> Fix | None:
    pod = pod_template(doc)
    if pod is None:
        return None
    for c in containers(pod):
        if path[: len(c.path)] != c.path:
            continue
        # An explicit `false` says the application writes to its filesystem: a human decides.
        if c.security_context.get("readOnlyRootFilesystem") is False:
            return None
        edit = Edit(EditOp.SET, (*c.path, "securityContext", "readOnlyRootFilesystem"), True)
        return Fix((edit,), False, "set securityContext.readOnlyRootFilesystem: true")
    return None


# The document the rule page shows the automatic fix on.
_FIX_EXAMPLE = """\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext:
      allowPrivilegeEscalation: false
"""


RULE = Rule(
    id="DS599",
    title="Containers should run with a read-only root filesystem",
    practice=Practice.DEFAULTS,
    severity=Severity.LOW,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "A writable root filesystem lets an attacker who gets code execution in the container "
        "drop tools, replace the application's binaries or config and persist until the pod "
        "is replaced. With `readOnlyRootFilesystem: true` the image stays as built and only "
        "the volumes you mount can be written. Low by default: it is hardening that many "
        "images need work for (a writable `emptyDir` for `/tmp` or a cache), and it is not "
        "part of the Pod Security Standards, whose findings should stay the first to fix.\n\n"
        "Not reported: ephemeral containers (debugging shells added at run time), Windows "
        "pods (`spec.os.name: windows`, where the setting is not supported) and PodTemplate "
        "objects (they run nothing)."
    ),
    fix="Set `securityContext.readOnlyRootFilesystem: true` on every container and init "
    "container, and mount an `emptyDir` wherever the application writes (`/tmp`, caches).",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.0
    securityContext: {readOnlyRootFilesystem: true}
    volumeMounts: [{name: tmp, mountPath: /tmp}]
  volumes: [{name: tmp, emptyDir: {}}]
""",
    references=(
        "Checkov CKV_K8S_22",
        "kube-linter no-read-only-root-fs",
        "kube-score container-security-context-readonlyrootfilesystem",
        "Polaris notReadOnlyRootFilesystem",
        "Kubescape C-0017",
        "Trivy KSV-0014",
    ),
    check=check,
    autofix=AutoFix(
        fixer,
        safe=False,
        summary=(
            "Sets `readOnlyRootFilesystem: true` on each container that does not set it. "
            "Unsafe because an application that writes outside its mounted volumes (`/tmp`, "
            "a cache, a pid file) fails at run time until it gets an `emptyDir` there. A "
            "container that sets `readOnlyRootFilesystem: false` is left for a human: its "
            "author said it writes."
        ),
        before=_FIX_EXAMPLE,
        after=_FIX_EXAMPLE + "      readOnlyRootFilesystem: true\n",
    ),
)
