"""DS236: pods must not mount the container runtime's socket from the host."""

from __future__ import annotations

import posixpath
from collections.abc import Iterator

from deploysafe.k8s.pods import as_list, as_map, containers, pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule

# Socket file names of Docker, containerd, CRI-O, cri-dockerd and Podman.
_SOCKETS = frozenset(
    {
        "docker.sock",
        "containerd.sock",
        "crio.sock",
        "cri-dockerd.sock",
        "dockershim.sock",
        "podman.sock",
    }
)
# Directories that hold one of those sockets on common distributions (mounting the
# directory exposes the socket). "/" is here too: the host root holds them all.
_SOCKET_DIRS = frozenset(
    {
        "/",
        "/run",
        "/var/run",
        "/run/docker",
        "/var/run/docker",
        "/run/containerd",
        "/var/run/containerd",
        "/run/crio",
        "/var/run/crio",
        "/run/k3s/containerd",
        "/run/podman",
        "/var/run/podman",
    }
)


def runtime_socket(path: str) -> bool:
    norm = posixpath.normpath(path) if path else ""
    norm = "/" + norm.lstrip("/") if norm.startswith("/") else norm  # "//x" is "/x"
    return posixpath.basename(norm) in _SOCKETS or norm in _SOCKET_DIRS


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for i, vol in enumerate(as_list(pod.spec.get("volumes"))):
        vol = as_map(vol)
        path = as_map(vol.get("hostPath")).get("path")
        if not isinstance(path, str) or not runtime_socket(path):
            continue
        name = vol.get("name")
        users = [
            c.label
            for c in containers(pod)
            if any(as_map(m).get("name") == name for m in as_list(c.data.get("volumeMounts")))
        ]
        by = f", mounted by {', '.join(users)}" if users else ""
        what = "is" if posixpath.basename(path.rstrip("/")) in _SOCKETS else "holds"
        yield Violation(
            (*pod.spec_path, "volumes", i, "hostPath", "path"),
            f"volume {name!r} mounts the host path {path!r}, which {what} the container "
            f"runtime socket{by}: root on the node",
        )


RULE = Rule(
    id="DS236",
    title="Pods must not mount the container runtime socket",
    practice=Practice.ENVIRONMENT,
    severity=Severity.CRITICAL,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "The Docker, containerd or CRI-O socket is the runtime's control API: whoever can write "
        "to it starts a privileged container with the host's root filesystem, so the pod owns "
        "the node and every workload on it, whatever its own securityContext says."
    ),
    fix="Remove the hostPath volume. Build images with a daemonless builder (BuildKit rootless, "
    "Kaniko, Buildah) and read container metadata from the kubelet or the Kubernetes API.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: builder, namespace: ci}
spec:
  containers:
  - name: build
    image: registry.example/builder:1.0
    volumeMounts: [{name: docker, mountPath: /var/run/docker.sock}]
  volumes:
  - name: docker
    hostPath: {path: /var/run/docker.sock}
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: builder, namespace: ci}
spec:
  containers:
  - name: build
    image: registry.example/builder:1.0
    volumeMounts: [{name: work, mountPath: /workspace}]
  volumes:
  - name: work
    emptyDir: {}
""",
    references=(
        "Checkov CKV_K8S_27",
        "kube-linter docker-sock",
        "Trivy KSV-0006",
        "Kubescape C-0074",
    ),
    check=check,
)
