"""DS509's fix: a default-deny NetworkPolicy, as a new file, where workloads are installed
with no NetworkPolicy at all.

The file goes next to the namespace's manifests: the folder holding most of the
namespace's uncovered workloads (the first by name on a tie), or the kustomization a
render built them from (its `resources:` gets the file), or the folder installed without
a namespace (then the policy names none either, and shares the one given at install
time). It is unsafe: every pod there is cut off, DNS included, until allow policies exist.
A file of that name is never overwritten. Other DS509 cases (a namespace with policies
that miss a workload, host-network pods, the `default` namespace, Helm charts, a base
several overlays share) are left to a person.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from deploysafe.fix.plan import Change, Outcome, Selection, Status
from deploysafe.fix.yamledit import EditRefused, apply_first
from deploysafe.inputs.documents import install_unit
from deploysafe.model import Document, Finding
from deploysafe.rules.base import Edit, EditOp
from deploysafe.rules.defaults.network_policy import no_policy, no_policy_installed

RULE_ID = "DS509"
NAME = "networkpolicy-default-deny.yaml"
KUSTOMIZATIONS = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_KUSTOMIZE = "kustomize "

HEADER = """\
# Written by `deploysafe fix` (DS509): every pod here is isolated, so no connection reaches
# it or leaves it (DNS included) until a NetworkPolicy allows it. Add the allow policies
# your workloads need before you apply this.
"""


def policy_text(namespace: str | None) -> str:
    ns = f"\n  namespace: {namespace}" if namespace else ""
    return (
        HEADER
        + "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n"
        + f"  name: default-deny{ns}\nspec:\n  podSelector: {{}}\n"
        + "  policyTypes: [Ingress, Egress]\n"
    )


def _unit(f: Finding) -> str:
    """Where the workload is installed from: its render, or its folder."""
    return f.renders[0] if f.renders else install_unit(Document(f.file, {}, {}, ()))


_MANUAL = "no automatic fix for this case"
# A policy written into `default` would be one more object there (DS501), and isolate what
# else shares it; the workloads need a namespace of their own first.
_DEFAULT = (
    "namespace 'default': give the workloads a namespace of their own (DS501), then a "
    "default-deny NetworkPolicy there"
)


def _key(f: Finding) -> tuple[str | None, str] | str:
    """(namespace, render or "") of a finding the fix applies to, else why not."""
    if len(f.renders) > 1:
        # Which overlay's namespace gets the policy is not one decision.
        return "a base several overlays build: add a default-deny NetworkPolicy to each overlay"
    render = f.renders[0] if f.renders else ""
    if render and not render.startswith(_KUSTOMIZE):
        # A chart's templates are its author's; the chart decides whether a policy ships.
        return "workloads of a Helm chart: add a NetworkPolicy template to the chart"
    namespace = f.resource.namespace if f.resource is not None else None
    if namespace:
        if no_policy(namespace) not in f.message:
            # A default-deny would cut off what the existing policies allow.
            return "the namespace's policies miss this workload: extend one that selects it"
        return _DEFAULT if namespace == "default" else (namespace, render)
    return (None, _unit(f)) if no_policy_installed(_unit(f)) in f.message else _MANUAL


def _folder(namespace: str | None, unit: str, found: Sequence[Finding]) -> str:
    if unit.startswith(_KUSTOMIZE):
        return unit[len(_KUSTOMIZE) :].rstrip("/")
    if namespace is None:
        return PurePosixPath(found[0].file).parent.as_posix()
    counts = Counter(PurePosixPath(f.file).parent.as_posix() for f in found)
    return min(counts, key=lambda folder: (-counts[folder], folder))


def plan_default_deny(
    findings: Sequence[Finding], root: Path, selection: Selection
) -> tuple[list[Change], list[Outcome]]:
    """The new files (and kustomization edits) that fix `findings` of DS509, and the
    outcome of each finding."""
    outcomes: list[Outcome] = []
    groups: dict[tuple[str | None, str], list[Finding]] = defaultdict(list)
    for f in findings:
        key = _key(f)
        if isinstance(key, str):
            outcomes.append(Outcome(f, Status.MANUAL, key))
        else:
            groups[key].append(f)
    changes: list[Change] = []
    for (namespace, unit), found in sorted(
        groups.items(), key=lambda kv: (kv[0][0] or "", kv[0][1])
    ):
        folder = _folder(namespace, unit, found)
        file = NAME if folder == "." else f"{folder}/{NAME}"
        whom = f"namespace {namespace!r}" if namespace else f"the objects of {unit}"
        description = f"write {file}, a default-deny NetworkPolicy for {whom}"
        if not selection.unsafe:
            why = f"unsafe fix ({description}): use --unsafe-fixes"
            outcomes += [Outcome(f, Status.UNSAFE, why) for f in found]
            continue
        made, why_not = _files(root, folder, file, namespace)
        if why_not is not None:
            outcomes += [Outcome(f, Status.REFUSED, why_not) for f in found]
            continue
        changes += made
        outcomes += [Outcome(f, Status.FIXED, description + " (unsafe)") for f in found]
    return changes, outcomes


def _files(
    root: Path, folder: str, file: str, namespace: str | None
) -> tuple[list[Change], str | None]:
    """The new file and the kustomization that lists it, or why they are not written."""
    where = root / folder
    target = root / file
    if target.exists() or target.is_symlink():
        return [], f"{file} exists: not overwritten"
    if not where.resolve().is_relative_to(root.resolve()):
        return [], f"{folder} is outside the scanned tree: not written"
    made = [Change(file, where.resolve() / NAME, "", policy_text(namespace), created=True)]
    for name in KUSTOMIZATIONS:
        k = where / name
        if not k.is_file():
            continue
        shown = name if folder == "." else f"{folder}/{name}"
        try:
            before = k.read_bytes().decode("utf-8")
            after = apply_first(before, [Edit(EditOp.APPEND, ("resources",), NAME)])
        except (OSError, UnicodeDecodeError, EditRefused) as exc:
            return [], f"{shown} cannot list the new file ({exc}): not written"
        made.append(Change(shown, k.resolve(), before, after))
        break
    return made, None
