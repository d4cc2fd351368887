"""DS503: images must be pinned: no `:latest`, no missing tag (a digest always passes)."""

from __future__ import annotations

from collections.abc import Iterator

from deploysafe.k8s.pods import containers, pod_template
from deploysafe.model import Document, Practice, Severity, Target, Violation
from deploysafe.rules.base import Context, Rule


def split_image(image: str) -> tuple[str, str | None, str | None]:
    """(name, tag, digest) of an image reference; tag and digest None when absent.

    The tag is after the last ':' of the last path component, so the port in
    `registry:5000/app` is not a tag.
    """
    name, at, digest = image.partition("@")
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        return name[:colon], name[colon + 1 :], digest if at else None
    return name, None, digest if at else None


def problem(image: str) -> str | None:
    """Why the reference floats, or None when it is pinned."""
    _, tag, digest = split_image(image.strip())
    if digest:
        return None
    if tag is None:
        return "has no tag, so it means 'latest'"
    if tag == "latest":
        return "uses the tag 'latest'"
    return None


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    pod = pod_template(doc)
    if pod is None:
        return
    for c in containers(pod):
        image = c.data.get("image")
        if not isinstance(image, str) or not image.strip():
            continue
        why = problem(image)
        if why:
            yield Violation((*c.path, "image"), f"{c.label} image {image!r} {why}")


RULE = Rule(
    id="DS503",
    title="Images must not use the latest tag or no tag",
    practice=Practice.DEFAULTS,
    severity=Severity.MEDIUM,
    target=Target.KUBERNETES,
    pod_only=True,
    why=(
        "`:latest` (which is what no tag means) is a moving pointer: two nodes can run "
        "different code under one manifest, a rollback redeploys whatever is newest, and a "
        "pushed image goes live on the next restart without review. What was scanned and "
        "approved is not what runs."
    ),
    fix="Pin an immutable version tag, or better a digest (`image@sha256:...`), and let the "
    "release process change it.",
    bad="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:latest
""",
    good="""\
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: shop}
spec:
  containers:
  - name: app
    image: registry.example/app:1.4.2
""",
    references=(
        "Checkov CKV_K8S_14",
        "kube-linter latest-tag",
        "kube-score container-image-tag",
        "Polaris tagNotSpecified",
        "Trivy KSV-0013",
        "Kubescape C-0075",
    ),
    check=check,
)
