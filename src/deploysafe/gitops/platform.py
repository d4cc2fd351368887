"""`deploysafe platform`: the cluster-side configuration that makes a tenant safe by default,
for the engine that applies the environment repository (Argo CD or Flux).

Per environment (and its tenant):
- a Namespace for each namespace the tenant names (globs cannot be created), with Pod
  Security Admission labels: enforce, audit and warn at the tenant's level (restricted
  unless configured), each pinned to a version;
- a default-deny NetworkPolicy (ingress and egress) plus DNS egress to kube-dns;
- a ResourceQuota and a LimitRange;
- Argo CD: an AppProject (sourceRepos = the environment repository only, destinations =
  the tenant's namespaces, no cluster-scoped kinds beyond `cluster_kinds`, quota and limit
  ranges blacklisted, signature keys when releases are GPG-signed) and an Application
  (automated sync with prune and self-heal); and once, a locked-down `default` AppProject;
- Flux: the tenant's ServiceAccount with `admin` in each of its namespaces, a GitRepository
  (commit verification when signing is on) and a Kustomization (that ServiceAccount, the
  target namespace, prune, wait).

Everything generated passes deploysafe's own scan (a test asserts it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from deploysafe.config import Config
from deploysafe.config.environments import Environment
from deploysafe.frozen import record
from deploysafe.host.urls import public_url
from deploysafe.k8s.tenancy import CLUSTER_KINDS, Tenant
from deploysafe.model import format_version

IN_CLUSTER = "https://kubernetes.default.svc"
MANAGED = {"app.kubernetes.io/managed-by": "deploysafe"}
PSA = "pod-security.kubernetes.io"


@record
class PlatformOptions:
    engine: str = "argocd"
    argocd_namespace: str = "argocd"
    cluster: str = IN_CLUSTER


@record
class File:
    path: str  # relative to the output folder
    objects: tuple[Mapping[str, Any], ...]
    comment: str = ""

    def text(self) -> str:
        head = "".join(f"# {line}\n" if line else "#\n" for line in self.comment.splitlines())
        body = "---\n".join(
            yaml.safe_dump(dict(o), sort_keys=False, default_flow_style=False) for o in self.objects
        )
        return head + body


def _labels(tenant: Tenant, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    return {**MANAGED, "deploysafe.io/tenant": tenant.name, **(extra or {})}


def namespaces(tenant: Tenant, cfg: Config) -> list[dict[str, Any]]:
    level = tenant.pod_security.value
    version = format_version(cfg.pss_version)
    psa = {}
    for mode in ("enforce", "audit", "warn"):
        psa[f"{PSA}/{mode}"] = level
        psa[f"{PSA}/{mode}-version"] = version
    return [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": ns, "labels": _labels(tenant, psa)},
        }
        for ns in tenant.literal_namespaces
    ]


def network(tenant: Tenant) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ns in tenant.literal_namespaces:
        meta = {"namespace": ns, "labels": _labels(tenant)}
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "default-deny", **meta},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            }
        )
        out.append(
            {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": {"name": "allow-dns", **meta},
                "spec": {
                    "podSelector": {},
                    "policyTypes": ["Egress"],
                    "egress": [
                        {
                            "to": [
                                {
                                    "namespaceSelector": {
                                        "matchLabels": {
                                            "kubernetes.io/metadata.name": "kube-system"
                                        }
                                    },
                                    "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
                                }
                            ],
                            "ports": [
                                {"protocol": "UDP", "port": 53},
                                {"protocol": "TCP", "port": 53},
                            ],
                        }
                    ],
                },
            }
        )
    return out


def quotas(tenant: Tenant) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for ns in tenant.literal_namespaces:
        meta = {"namespace": ns, "labels": _labels(tenant)}
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ResourceQuota",
                "metadata": {"name": "tenant-quota", **meta},
                "spec": {"hard": dict(tenant.quota)},
            }
        )
        out.append(
            {
                "apiVersion": "v1",
                "kind": "LimitRange",
                "metadata": {"name": "tenant-limits", **meta},
                "spec": {
                    "limits": [
                        {"type": "Container", **{k: dict(v) for k, v in tenant.limits.items()}}
                    ]
                },
            }
        )
    return out


def _name(env: Environment) -> str:
    return f"{env.tenant.name}-{env.name}".lower().replace("_", "-").replace(".", "-")


def argocd(env: Environment, opts: PlatformOptions) -> tuple[list[dict[str, Any]], list[str]]:
    tenant, target = env.tenant, env.target
    notes = []
    name = _name(env)
    whitelist = [
        {
            "group": k.group if k.group is not None else CLUSTER_KINDS.get(k.kind, "*"),
            "kind": k.kind,
        }
        for k in tenant.cluster_kinds
    ]
    project: dict[str, Any] = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": name, "namespace": opts.argocd_namespace, "labels": _labels(tenant)},
        "spec": {
            "description": f"tenant {tenant.name}, environment {env.name} (deploysafe)",
            "sourceRepos": [public_url(target.repo)],
            "destinations": [{"server": opts.cluster, "namespace": ns} for ns in tenant.namespaces],
            "clusterResourceWhitelist": whitelist,
            "namespaceResourceBlacklist": [
                {"group": "", "kind": "ResourceQuota"},
                {"group": "", "kind": "LimitRange"},
            ],
            "orphanedResources": {"warn": True},
        },
    }
    sign = env.sign
    if sign is not None and sign.gpg_key:
        project["spec"]["signatureKeys"] = [{"keyID": sign.gpg_key[-16:]}]
        notes.append(
            f"{env.name}: import the release key into Argo CD's GnuPG keyring "
            f"(argocd gpg add --from <public key of {sign.gpg_key}>)"
        )
    elif sign is not None:
        notes.append(
            f"{env.name}: releases are SSH-signed; Argo CD verifies GnuPG signatures only, "
            "so it does not check them (sign with gpg_key to have it refuse unsigned commits)"
        )
    else:
        notes.append(
            f"{env.name}: releases are not signed; configure `sign` so Argo CD can refuse "
            "commits the gate did not make"
        )
    app = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {
            "name": name,
            "namespace": opts.argocd_namespace,
            "labels": _labels(tenant),
            "finalizers": ["resources-finalizer.argocd.argoproj.io"],
        },
        "spec": {
            "project": name,
            "source": {
                "repoURL": public_url(target.repo),
                "targetRevision": target.branch,
                "path": target.path,
            },
            "destination": {"server": opts.cluster, "namespace": env.namespace},
            "syncPolicy": {
                "automated": {"prune": True, "selfHeal": True},
                "syncOptions": ["PruneLast=true", "FailOnSharedResource=true"],
            },
        },
    }
    return [project, app], notes


def argocd_default_project(opts: PlatformOptions) -> dict[str, Any]:
    """Argo CD's `default` project allows any repository, destination and kind: lock it."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AppProject",
        "metadata": {"name": "default", "namespace": opts.argocd_namespace, "labels": MANAGED},
        "spec": {
            "description": "locked by deploysafe: every application belongs to a tenant project",
            "sourceRepos": [],
            "destinations": [],
            "clusterResourceBlacklist": [{"group": "*", "kind": "*"}],
            "namespaceResourceBlacklist": [{"group": "*", "kind": "*"}],
        },
    }


def flux(env: Environment) -> tuple[list[dict[str, Any]], list[str]]:
    tenant, target = env.tenant, env.target
    name = _name(env)
    ns = env.namespace
    sa = f"{tenant.name}-deployer"
    notes = [
        "run the Flux controllers locked down: --no-cross-namespace-refs=true, "
        "--no-remote-bases=true, --default-service-account=default (kustomize-controller and "
        "helm-controller)"
    ]
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": sa, "namespace": ns, "labels": _labels(tenant)},
            "automountServiceAccountToken": False,
        }
    ]
    objects += [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": sa, "namespace": tns, "labels": _labels(tenant)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": "admin",
            },
            "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}],
        }
        for tns in tenant.literal_namespaces
    ]
    spec: dict[str, Any] = {
        "interval": "1m",
        "url": public_url(target.repo),
        "ref": {"branch": target.branch},
    }
    if target.repo.startswith(("ssh://", "git@")) or "@" in target.repo.split("/")[0]:
        spec["secretRef"] = {"name": f"{name}-git-auth"}
        notes.append(f"{env.name}: create Secret {ns}/{name}-git-auth (SSH deploy key, read-only)")
    if env.sign is not None:
        spec["verify"] = {"mode": "HEAD", "secretRef": {"name": f"{name}-signing-keys"}}
        kind = "author.asc (armored public GPG key)" if env.sign.gpg_key else "author.sshpub"
        notes.append(
            f"{env.name}: create Secret {ns}/{name}-signing-keys holding the release key's "
            f"public half as {kind}"
        )
    else:
        notes.append(
            f"{env.name}: releases are not signed; configure `sign` so Flux can refuse commits "
            "the gate did not make"
        )
    objects.append(
        {
            "apiVersion": "source.toolkit.fluxcd.io/v1",
            "kind": "GitRepository",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(tenant)},
            "spec": spec,
        }
    )
    objects.append(
        {
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": ns, "labels": _labels(tenant)},
            "spec": {
                "interval": "10m",
                "sourceRef": {"kind": "GitRepository", "name": name},
                "path": f"./{target.path}",
                "prune": True,
                "wait": True,
                "timeout": "5m",
                "serviceAccountName": sa,
                "targetNamespace": ns,
            },
        }
    )
    return objects, notes


def generate(
    cfg: Config, envs: Sequence[Environment], opts: PlatformOptions
) -> tuple[list[File], list[str]]:
    files: list[File] = []
    notes: list[str] = []
    for env in envs:
        t = env.tenant
        globs = [ns for ns in t.namespaces if ns not in t.literal_namespaces]
        if globs:
            notes.append(
                f"{env.name}: tenant {t.name}'s namespace globs ({', '.join(globs)}) cannot be "
                "created here: create those namespaces with the same labels and policies"
            )
        base = env.name
        files += [
            File(f"{base}/namespaces.yaml", tuple(namespaces(t, cfg)), _NS_COMMENT),
            File(f"{base}/network-policies.yaml", tuple(network(t)), _NET_COMMENT),
            File(f"{base}/quotas.yaml", tuple(quotas(t)), _QUOTA_COMMENT),
        ]
        if opts.engine == "argocd":
            objects, more = argocd(env, opts)
            files.append(File(f"{base}/argocd.yaml", tuple(objects), _ARGO_COMMENT))
        else:
            objects, more = flux(env)
            files.append(File(f"{base}/flux.yaml", tuple(objects), _FLUX_COMMENT))
        notes += [n for n in more if n not in notes]
    if opts.engine == "argocd":
        files.append(File("argocd-default-project.yaml", (argocd_default_project(opts),), _DEFAULT))
    return files, notes


_NS_COMMENT = (
    "Generated by `deploysafe platform`. The tenant's namespaces, with Pod Security Admission\n"
    "enforcing its level (and auditing and warning at it), pinned to a policy version."
)
_NET_COMMENT = (
    "Generated by `deploysafe platform`. Default deny, ingress and egress, in every namespace\n"
    "of the tenant; DNS to kube-dns is the only flow allowed. The tenant's releases add the\n"
    "flows each workload needs."
)
_QUOTA_COMMENT = (
    "Generated by `deploysafe platform`. The platform owns these: a tenant's release may not\n"
    "ship its own (DS403; the AppProject blacklists both kinds)."
)
_ARGO_COMMENT = (
    "Generated by `deploysafe platform`. The project allows the environment repository only,\n"
    "the tenant's namespaces only, and no cluster-scoped kind beyond its cluster_kinds.\n"
    "Rollback is `deploysafe rollback`: a new commit, so automated sync never fights it."
)
_FLUX_COMMENT = (
    "Generated by `deploysafe platform`. Flux applies the environment folder as the tenant's\n"
    "ServiceAccount (admin in the tenant's namespaces only), pruning what a release removes."
)
_DEFAULT = (
    "Generated by `deploysafe platform`. Argo CD's `default` project allows any repository,\n"
    "destination and kind; this locks it so every application must use a tenant project."
)
