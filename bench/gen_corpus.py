#!/usr/bin/env python3
"""Deterministic generator of a realistic Kubernetes deployment-repository corpus.

    python bench/gen_corpus.py --docs 3500            # -> bench/corpus/3500
    python bench/gen_corpus.py --docs 100000 --out /tmp/c --seed 7

What it writes (shares modelled on the reference corpus in
../shared/reference/performance.md: 3,948 documents, 187 of them CRDs holding ~83% of the
YAML bytes):

* ``apps/<team>/<app>/``: one folder per application, multi-document files in the layouts
  real repositories use (``all-in-one.yaml``, ``deployment.yaml`` + ``service.yaml`` + ...,
  ``rbac.yaml``), every workload kind (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet,
  Job, CronJob, ReplicationController, PodTemplate, Argo Rollout), Services (ClusterIP,
  NodePort, LoadBalancer, headless), ConfigMaps (some with large embedded config such as
  dashboards), ServiceAccounts, Roles/ClusterRoles and bindings, Ingress, HPA, PDB,
  NetworkPolicies, Namespaces with pod-security labels; a mix of hardened and insecure
  settings (privileged, host namespaces, hostPath, added capabilities, :latest images,
  wildcard RBAC, cluster-admin bindings, secrets in env values, ...).
* ``operators/<name>/crds/``: CustomResourceDefinitions with large OpenAPI v3 schemas
  (~4.7% of the documents, ~80-85% of the bytes), plus a few custom resources using them.

Only the standard library: the YAML text is written directly (fast, byte-for-byte
deterministic for a given --docs/--seed). The output directory is made a git repository of its
own (``git init``, nothing committed) so that .gitignore-aware scanners see its files. A
summary is written next to the corpus as ``<out>.stats.json`` (outside the scanned directory).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# ---------------------------------------------------------------------------------------------
# A small, fast YAML emitter (block style, Kubernetes conventions).
# ---------------------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_/.][A-Za-z0-9_./@=+-]*(?:[ :][A-Za-z0-9_./@=+-]+)*$")
_SPECIAL_WORDS = (
    "y Y yes Yes YES n N no No NO true True TRUE false False FALSE on On ON off Off OFF "
    "null Null NULL ~ .inf .Inf .INF .nan .NaN .NAN"
)
_SPECIAL = frozenset(_SPECIAL_WORDS.split())


def _scalar(v: object) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return repr(v)
    s = str(v)
    if s and s not in _SPECIAL and _PLAIN.match(s) and ": " not in s and not s.endswith(":"):
        return s
    return json.dumps(s)  # a JSON string is a valid YAML double-quoted scalar


class Emitter:
    """Writes nested dict/list/scalar data as block YAML.

    ``indent_seq`` chooses between the two list styles found in the wild:
    ``kubectl``/controller-gen style (``- `` at the parent key's column) and the
    Helm/kustomize style (``- `` indented two spaces).
    """

    def __init__(self, indent_seq: bool) -> None:
        self.indent_seq = indent_seq

    def emit(self, obj: dict, out: list[str]) -> None:
        self._map(obj, 0, out)

    def _map(self, m: dict, ind: int, out: list[str]) -> None:
        pad = " " * ind
        for k, v in m.items():
            if isinstance(v, dict):
                if v:
                    out.append(f"{pad}{k}:\n")
                    self._map(v, ind + 2, out)
                else:
                    out.append(f"{pad}{k}: {{}}\n")
            elif isinstance(v, list):
                if v:
                    out.append(f"{pad}{k}:\n")
                    self._seq(v, ind + 2 if self.indent_seq else ind, out)
                else:
                    out.append(f"{pad}{k}: []\n")
            elif isinstance(v, Block):
                out.append(f"{pad}{k}: |{v.chomp}\n")
                bpad = pad + "  "
                out.extend(f"{bpad}{line}\n" if line else "\n" for line in v.text.split("\n"))
            else:
                out.append(f"{pad}{k}: {_scalar(v)}\n")

    def _seq(self, seq: list, ind: int, out: list[str]) -> None:
        pad = " " * ind
        for item in seq:
            if isinstance(item, dict) and item:
                sub: list[str] = []
                self._map(item, ind + 2, sub)
                first = sub[0]
                sub[0] = pad + "- " + first[ind + 2 :]
                out.extend(sub)
            elif isinstance(item, list) and item:
                out.append(f"{pad}-\n")
                self._seq(item, ind + 2, out)
            elif isinstance(item, dict):
                out.append(f"{pad}- {{}}\n")
            else:
                out.append(f"{pad}- {_scalar(item)}\n")


class Block:
    """A literal block scalar (``|`` / ``|-``)."""

    __slots__ = ("chomp", "text")

    def __init__(self, text: str, strip: bool = True) -> None:
        self.text = text.rstrip("\n")
        self.chomp = "-" if strip else ""


# ---------------------------------------------------------------------------------------------
# Vocabulary
# ---------------------------------------------------------------------------------------------

TEAMS = [
    "payments",
    "platform",
    "search",
    "identity",
    "data",
    "ml",
    "web",
    "mobile-api",
    "observability",
    "infra",
    "growth",
    "billing",
    "messaging",
    "catalog",
    "edge",
]
APP_WORDS = [
    "cart",
    "checkout",
    "frontend",
    "gateway",
    "auth",
    "orders",
    "inventory",
    "recommend",
    "email",
    "shipping",
    "currency",
    "ads",
    "redis",
    "postgres",
    "kafka",
    "zookeeper",
    "etcd",
    "nginx",
    "worker",
    "scheduler",
    "api",
    "indexer",
    "crawler",
    "notifier",
    "ledger",
    "profile",
    "session",
    "media",
    "thumbnailer",
    "exporter",
    "collector",
    "router",
    "broker",
    "cache",
    "proxy",
    "webhook",
    "sync",
    "backup",
]
REGISTRIES = [
    "docker.io/library",
    "gcr.io/acme-prod",
    "quay.io/acme",
    "ghcr.io/acme",
    "123456789012.dkr.ecr.us-east-1.amazonaws.com",
    "registry.k8s.io",
]
BASE_IMAGES = [
    "nginx",
    "redis",
    "postgres",
    "busybox",
    "alpine",
    "python",
    "node",
    "golang",
    "envoyproxy/envoy",
    "prom/prometheus",
    "grafana/grafana",
    "bitnami/kafka",
]
CAPS_BAD = ["SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "NET_RAW", "ALL", "SYS_MODULE"]
VERBS = ["get", "list", "watch", "create", "update", "patch", "delete"]
RESOURCES = [
    "pods",
    "services",
    "configmaps",
    "secrets",
    "deployments",
    "endpoints",
    "events",
    "leases",
    "jobs",
    "statefulsets",
    "ingresses",
    "nodes",
    "pods/exec",
    "persistentvolumeclaims",
    "serviceaccounts",
    "rolebindings",
]
LOREM = (  # noqa: SIM905
    "the of and to in is that for it as with be on not this by are or his from at which "
    "but have an they you were her she there would their we him been has when who will "
    "more no if out so said what up its about into than them can only other new some "
    "could time these two may then do first any my now such like our over man me even "
    "most made after also did many before must through back years where much your way "
    "well down should because each just those people how too little state good very "
    "make world still own see men work long get here between both life being under never "
    "day same another know while last might us great old year off come since against go "
    "came right used take three"
).split()

# Field names used in generated OpenAPI schemas (camelCase, realistic-looking).
FIELD_WORDS = [
    "name",
    "namespace",
    "selector",
    "labels",
    "annotations",
    "replicas",
    "image",
    "version",
    "resources",
    "limits",
    "requests",
    "storage",
    "retention",
    "tls",
    "ca",
    "cert",
    "key",
    "secret",
    "config",
    "endpoint",
    "port",
    "interval",
    "timeout",
    "scrape",
    "relabel",
    "target",
    "source",
    "destination",
    "weight",
    "match",
    "route",
    "rule",
    "alert",
    "query",
    "expr",
    "volume",
    "mount",
    "path",
    "affinity",
    "toleration",
    "node",
    "priority",
    "class",
    "policy",
    "template",
    "status",
    "condition",
    "reason",
    "message",
    "phase",
    "observed",
    "generation",
    "strategy",
    "rollout",
    "canary",
    "analysis",
    "metric",
    "provider",
    "threshold",
    "backoff",
    "limit",
    "window",
    "shard",
    "partition",
    "topology",
    "zone",
    "encryption",
    "auth",
    "token",
    "header",
    "body",
    "method",
    "host",
    "scheme",
]


QUANTITY = (
    "^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?"
    "(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$"
)
APIVERSION_DOC = "APIVersion defines the versioned schema of this representation of an object."
KIND_DOC = "Kind is a string value representing the REST resource this object represents."


class Gen:
    def __init__(self, seed: int) -> None:
        self.r = random.Random(seed)
        self.stats: dict[str, int] = {}

    # -- small helpers ----------------------------------------------------------------------
    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def pick(self, seq):  # type: ignore[no-untyped-def]
        return seq[self.r.randrange(len(seq))]

    def words(self, n: int) -> str:
        return " ".join(self.pick(LOREM) for _ in range(n))

    def sentence(self, lo: int = 6, hi: int = 24) -> str:
        s = self.words(self.r.randint(lo, hi))
        return s[0].upper() + s[1:] + "."

    def count(self, kind: str) -> None:
        self.stats[kind] = self.stats.get(kind, 0) + 1

    def image(self, app: str, insecure: bool) -> str:
        name = f"{self.pick(REGISTRIES)}/{app}" if self.chance(0.5) else self.pick(BASE_IMAGES)
        if insecure and self.chance(0.4):
            return name if self.chance(0.3) else f"{name}:latest"
        if self.chance(0.25):
            digest = f"{self.r.getrandbits(256):064x}"
            return f"{name}@sha256:{digest}"
        return f"{name}:{self.r.randint(0, 9)}.{self.r.randint(0, 30)}.{self.r.randint(0, 12)}"

    # -- pod spec ---------------------------------------------------------------------------
    def container(self, app: str, idx: int, insecure: bool) -> dict:
        name = app if idx == 0 else f"{self.pick(['sidecar', 'proxy', 'agent', 'metrics'])}-{idx}"
        c: dict = {"name": name, "image": self.image(app, insecure)}
        if self.chance(0.5):
            c["imagePullPolicy"] = self.pick(["IfNotPresent", "Always"])
        if self.chance(0.4):
            c["args"] = [
                f"--{self.pick(FIELD_WORDS)}={self.r.randint(1, 999)}"
                for _ in range(self.r.randint(1, 5))
            ]
        if self.chance(0.8):
            port = self.pick([80, 443, 8080, 8443, 9090, 3000, 5432, 6379, 9092])
            c["ports"] = [{"name": "http", "containerPort": port, "protocol": "TCP"}]
            if insecure and self.chance(0.15):
                c["ports"][0]["hostPort"] = port
        env = []
        for _ in range(self.r.randint(0, 6)):
            k = "_".join(self.pick(FIELD_WORDS).upper() for _ in range(2))
            env.append({"name": k, "value": str(self.r.randint(0, 10000))})
        if insecure and self.chance(0.2):
            env.append({"name": "DB_PASSWORD", "value": f"hunter2-{self.r.getrandbits(32):08x}"})
        elif self.chance(0.4):
            env.append(
                {
                    "name": "DB_PASSWORD",
                    "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}},
                }
            )
        if self.chance(0.3):
            env.append(
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}
            )
        if env:
            c["env"] = env
        if self.chance(0.3):
            c["envFrom"] = [{"configMapRef": {"name": f"{app}-config"}}]
        if not (insecure and self.chance(0.5)):
            c["resources"] = {
                "requests": {
                    "cpu": f"{self.pick([50, 100, 250, 500])}m",
                    "memory": f"{self.pick([64, 128, 256, 512])}Mi",
                },
            }
            if self.chance(0.7):
                c["resources"]["limits"] = {
                    "cpu": f"{self.pick([500, 1000, 2000])}m",
                    "memory": f"{self.pick([256, 512, 1024])}Mi",
                }
        if self.chance(0.6):
            c["livenessProbe"] = {
                "httpGet": {"path": "/healthz", "port": "http"},
                "initialDelaySeconds": 10,
                "periodSeconds": 10,
            }
            c["readinessProbe"] = {
                "httpGet": {"path": "/ready", "port": "http"},
                "periodSeconds": 5,
            }
        sc: dict = {}
        if insecure:
            if self.chance(0.3):
                sc["privileged"] = True
            if self.chance(0.4):
                sc["allowPrivilegeEscalation"] = True
            if self.chance(0.3):
                sc["runAsUser"] = 0
            if self.chance(0.3):
                sc["capabilities"] = {"add": [self.pick(CAPS_BAD)]}
            if self.chance(0.1):
                sc["procMount"] = "Unmasked"
        elif self.chance(0.85):
            sc = {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "runAsNonRoot": True,
                "capabilities": {"drop": ["ALL"]},
            }
            if self.chance(0.5):
                sc["seccompProfile"] = {"type": "RuntimeDefault"}
            if self.chance(0.4):
                sc["runAsUser"] = self.r.randint(1000, 65000)
        if sc:
            c["securityContext"] = sc
        if self.chance(0.5):
            c["volumeMounts"] = [{"name": "config", "mountPath": f"/etc/{app}", "readOnly": True}]
        return c

    def pod_spec(self, app: str, insecure: bool, restart: str | None = None) -> dict:
        spec: dict = {}
        if self.chance(0.7):
            spec["serviceAccountName"] = app
        if insecure:
            if self.chance(0.25):
                spec["hostNetwork"] = True
            if self.chance(0.15):
                spec["hostPID"] = True
            if self.chance(0.1):
                spec["hostIPC"] = True
            if self.chance(0.3):
                spec["automountServiceAccountToken"] = True
        else:
            if self.chance(0.5):
                spec["automountServiceAccountToken"] = False
            if self.chance(0.6):
                spec["securityContext"] = {
                    "runAsNonRoot": True,
                    "fsGroup": 2000,
                    "seccompProfile": {"type": "RuntimeDefault"},
                }
        if restart:
            spec["restartPolicy"] = restart
        if self.chance(0.2):
            spec["initContainers"] = [self.container(app + "-init", 0, insecure)]
        spec["containers"] = [
            self.container(app, i, insecure)
            for i in range(1 if self.chance(0.7) else self.r.randint(2, 3))
        ]
        vols: list = [{"name": "config", "configMap": {"name": f"{app}-config"}}]
        if insecure and self.chance(0.3):
            vols.append(
                {
                    "name": "host",
                    "hostPath": {
                        "path": self.pick(
                            ["/", "/var/run/docker.sock", "/etc", "/var/log", "/proc"]
                        )
                    },
                }
            )
        if self.chance(0.3):
            vols.append({"name": "tmp", "emptyDir": {}})
        spec["volumes"] = vols
        if self.chance(0.3):
            spec["nodeSelector"] = {"kubernetes.io/os": "linux"}
        if self.chance(0.2):
            spec["tolerations"] = [
                {"key": "dedicated", "operator": "Equal", "value": app, "effect": "NoSchedule"}
            ]
        if self.chance(0.2):
            spec["affinity"] = {
                "podAntiAffinity": {
                    "preferredDuringSchedulingIgnoredDuringExecution": [
                        {
                            "weight": 100,
                            "podAffinityTerm": {
                                "labelSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
                                "topologyKey": "kubernetes.io/hostname",
                            },
                        }
                    ]
                }
            }
        return spec

    def meta(self, name: str, ns: str | None, app: str) -> dict:
        m: dict = {"name": name}
        if ns:
            m["namespace"] = ns
        m["labels"] = {"app.kubernetes.io/name": app, "app.kubernetes.io/part-of": ns or app}
        if self.chance(0.3):
            m["labels"]["app.kubernetes.io/version"] = (
                f"{self.r.randint(0, 5)}.{self.r.randint(0, 20)}"
            )
        if self.chance(0.2):
            m["annotations"] = {"kubernetes.io/description": self.sentence()}
        return m

    def template(
        self, app: str, ns: str | None, insecure: bool, restart: str | None = None
    ) -> dict:
        t = {
            "metadata": {"labels": {"app.kubernetes.io/name": app}},
            "spec": self.pod_spec(app, insecure, restart),
        }
        if self.chance(0.3):
            t["metadata"]["annotations"] = {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "9090",
            }
        return t

    # -- documents --------------------------------------------------------------------------
    def workload(self, kind: str, app: str, ns: str | None, insecure: bool) -> dict:
        self.count(kind)
        sel = {"matchLabels": {"app.kubernetes.io/name": app}}
        api = {
            "Pod": "v1",
            "ReplicationController": "v1",
            "PodTemplate": "v1",
            "Job": "batch/v1",
            "CronJob": "batch/v1",
            "Rollout": "argoproj.io/v1alpha1",
        }.get(kind, "apps/v1")
        d: dict = {"apiVersion": api, "kind": kind, "metadata": self.meta(app, ns, app)}
        if kind == "Pod":
            d["spec"] = self.pod_spec(app, insecure)
        elif kind == "PodTemplate":
            d["template"] = self.template(app, ns, insecure)
        elif kind == "Job":
            d["spec"] = {"backoffLimit": 3, "template": self.template(app, ns, insecure, "Never")}
        elif kind == "CronJob":
            d["spec"] = {
                "schedule": f"{self.r.randint(0, 59)} {self.r.randint(0, 23)} * * *",
                "concurrencyPolicy": "Forbid",
                "jobTemplate": {
                    "spec": {"template": self.template(app, ns, insecure, "OnFailure")}
                },
            }
        elif kind == "ReplicationController":
            d["spec"] = {
                "replicas": self.r.randint(1, 5),
                "selector": {"app.kubernetes.io/name": app},
                "template": self.template(app, ns, insecure),
            }
        else:
            spec: dict = {}
            if kind != "DaemonSet":
                spec["replicas"] = self.r.randint(1, 10)
            if kind == "StatefulSet":
                spec["serviceName"] = app
            spec["selector"] = sel
            if kind == "Rollout":
                spec["strategy"] = {
                    "canary": {
                        "steps": [
                            {"setWeight": 20},
                            {"pause": {"duration": "10m"}},
                            {"setWeight": 60},
                            {"pause": {}},
                        ]
                    }
                }
            elif kind == "Deployment" and self.chance(0.5):
                spec["strategy"] = {
                    "type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 0},
                }
            spec["template"] = self.template(app, ns, insecure)
            if kind == "StatefulSet" and self.chance(0.7):
                spec["volumeClaimTemplates"] = [
                    {
                        "metadata": {"name": "data"},
                        "spec": {
                            "accessModes": ["ReadWriteOnce"],
                            "resources": {
                                "requests": {"storage": f"{self.pick([1, 10, 50, 100])}Gi"}
                            },
                        },
                    }
                ]
            d["spec"] = spec
        return d

    def service(self, app: str, ns: str | None) -> dict:
        self.count("Service")
        t = self.r.random()
        spec: dict = {
            "selector": {"app.kubernetes.io/name": app},
            "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
        }
        if t < 0.15:
            spec["type"] = "NodePort"
            spec["ports"][0]["nodePort"] = self.r.randint(30000, 32767)
        elif t < 0.25:
            spec["type"] = "LoadBalancer"
            if self.chance(0.5):
                spec["loadBalancerSourceRanges"] = ["10.0.0.0/8"]
        elif t < 0.35:
            spec["clusterIP"] = "None"
        else:
            spec["type"] = "ClusterIP"
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": self.meta(app, ns, app),
            "spec": spec,
        }

    def configmap(self, app: str, ns: str | None) -> dict:
        self.count("ConfigMap")
        data: dict = {}
        r = self.r.random()
        if r < 0.22:  # a dashboard / big JSON blob
            panels = [
                {
                    "id": i,
                    "type": "graph",
                    "title": self.words(3),
                    "targets": [
                        {
                            "expr": f"sum(rate({app}_requests_total[5m])) by (code)",
                            "legendFormat": "{{code}}",
                        }
                    ],
                    "gridPos": {"h": 8, "w": 12, "x": (i % 2) * 12, "y": i * 8},
                }
                for i in range(self.r.randint(10, 110))
            ]
            data[f"{app}-dashboard.json"] = Block(
                json.dumps({"title": app, "panels": panels}, indent=2)
            )
        elif r < 0.5:
            lines = [
                f"{self.pick(FIELD_WORDS)}.{self.pick(FIELD_WORDS)} = {self.r.randint(0, 9999)}"
                for _ in range(self.r.randint(10, 120))
            ]
            data["application.properties"] = Block("\n".join(lines))
        else:
            for _ in range(self.r.randint(1, 12)):
                data[f"{self.pick(FIELD_WORDS).upper()}_{self.pick(FIELD_WORDS).upper()}"] = str(
                    self.r.randint(0, 99999)
                )
        return {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": self.meta(f"{app}-config", ns, app),
            "data": data,
        }

    def namespace(self, ns: str, insecure: bool) -> dict:
        self.count("Namespace")
        labels: dict = {"kubernetes.io/metadata.name": ns}
        lvl = (
            "privileged"
            if insecure and self.chance(0.5)
            else self.pick(["baseline", "restricted", "restricted"])
        )
        if self.chance(0.75):
            labels["pod-security.kubernetes.io/enforce"] = lvl
            if self.chance(0.5):
                labels["pod-security.kubernetes.io/enforce-version"] = "latest"
            if self.chance(0.5):
                labels["pod-security.kubernetes.io/warn"] = "restricted"
                labels["pod-security.kubernetes.io/audit"] = "restricted"
        return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": labels}}

    def netpol(self, app: str, ns: str | None) -> dict:
        self.count("NetworkPolicy")
        if self.chance(0.3):
            return {
                "apiVersion": "networking.k8s.io/v1",
                "kind": "NetworkPolicy",
                "metadata": self.meta("default-deny", ns, app),
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
            }
        return {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "NetworkPolicy",
            "metadata": self.meta(f"{app}-allow", ns, app),
            "spec": {
                "podSelector": {"matchLabels": {"app.kubernetes.io/name": app}},
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [
                            {
                                "namespaceSelector": {
                                    "matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}
                                }
                            }
                        ],
                        "ports": [{"protocol": "TCP", "port": 8080}],
                    }
                ],
            },
        }

    def rules(self, insecure: bool) -> list:
        if insecure and self.chance(0.35):
            return [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}]
        out = []
        for _ in range(self.r.randint(1, 5)):
            verbs = sorted({self.pick(VERBS) for _ in range(self.r.randint(1, 4))})
            res = sorted({self.pick(RESOURCES) for _ in range(self.r.randint(1, 3))})
            out.append(
                {
                    "apiGroups": [self.pick(["", "apps", "batch", "coordination.k8s.io"])],
                    "resources": res,
                    "verbs": verbs,
                }
            )
        return out

    def rbac(self, app: str, ns: str | None, insecure: bool) -> list[dict]:
        docs = []
        self.count("ServiceAccount")
        sa: dict = {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": self.meta(app, ns, app),
        }
        if not insecure and self.chance(0.4):
            sa["automountServiceAccountToken"] = False
        docs.append(sa)
        cluster = self.chance(0.3)
        if self.chance(0.7):
            rk = "ClusterRole" if cluster else "Role"
            self.count(rk)
            role_meta = self.meta(app, None if cluster else ns, app)
            docs.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": rk,
                    "metadata": role_meta,
                    "rules": self.rules(insecure),
                }
            )
            role_name = app
            if insecure and self.chance(0.2):
                role_name, rk = "cluster-admin", "ClusterRole"
            bk = (
                "ClusterRoleBinding"
                if cluster or (role_name == "cluster-admin" and self.chance(0.5))
                else "RoleBinding"
            )
            self.count(bk)
            docs.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": bk,
                    "metadata": self.meta(app, None if bk.startswith("Cluster") else ns, app),
                    "roleRef": {
                        "apiGroup": "rbac.authorization.k8s.io",
                        "kind": rk,
                        "name": role_name,
                    },
                    "subjects": [
                        {"kind": "ServiceAccount", "name": app, "namespace": ns or "default"}
                    ],
                }
            )
        return docs

    def ingress(self, app: str, ns: str | None) -> dict:
        self.count("Ingress")
        host = f"{app}.{self.pick(['example.com', 'acme.io', 'internal.acme.net'])}"
        d = {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": self.meta(app, ns, app),
            "spec": {
                "ingressClassName": "nginx",
                "rules": [
                    {
                        "host": host,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "pathType": "Prefix",
                                    "backend": {"service": {"name": app, "port": {"number": 80}}},
                                }
                            ]
                        },
                    }
                ],
            },
        }
        if self.chance(0.6):
            d["spec"]["tls"] = [{"hosts": [host], "secretName": f"{app}-tls"}]
        return d

    def hpa(self, app: str, ns: str | None, target: str) -> dict:
        self.count("HorizontalPodAutoscaler")
        return {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": self.meta(app, ns, app),
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": target, "name": app},
                "minReplicas": 2,
                "maxReplicas": self.r.randint(3, 30),
                "metrics": [
                    {
                        "type": "Resource",
                        "resource": {
                            "name": "cpu",
                            "target": {
                                "type": "Utilization",
                                "averageUtilization": self.pick([60, 70, 80]),
                            },
                        },
                    }
                ],
            },
        }

    def pdb(self, app: str, ns: str | None) -> dict:
        self.count("PodDisruptionBudget")
        spec: dict = {"selector": {"matchLabels": {"app.kubernetes.io/name": app}}}
        if self.chance(0.5):
            spec["minAvailable"] = 1
        else:
            spec["maxUnavailable"] = "25%"
        return {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": self.meta(app, ns, app),
            "spec": spec,
        }

    # -- CRDs ------------------------------------------------------------------------------
    def schema(self, depth: int, budget: list[int]) -> dict:
        """A random OpenAPI v3 object schema; ``budget`` caps the number of properties."""
        props: dict = {}
        n = self.r.randint(2, 9)
        for _ in range(n):
            if budget[0] <= 0:
                break
            budget[0] -= 1
            w = self.pick(FIELD_WORDS) + self.pick(FIELD_WORDS).capitalize()
            if self.chance(0.3):
                w += self.pick(FIELD_WORDS).capitalize()
            desc = " ".join(self.sentence() for _ in range(self.r.randint(1, 4)))
            t = self.r.random()
            if depth < 7 and t < 0.28:
                p = self.schema(depth + 1, budget)
            elif depth < 7 and t < 0.38:
                p = {"type": "array", "items": self.schema(depth + 1, budget)}
            elif t < 0.55:
                p = {"type": "string"}
                if self.chance(0.2):
                    p["enum"] = [
                        self.pick(FIELD_WORDS).capitalize() for _ in range(self.r.randint(2, 5))
                    ]
                if self.chance(0.1):
                    p["pattern"] = "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
            elif t < 0.7:
                p = {"type": "integer", "format": self.pick(["int32", "int64"])}
                if self.chance(0.3):
                    p["minimum"] = 0
            elif t < 0.8:
                p = {"type": "boolean"}
            elif t < 0.9:
                p = {
                    "anyOf": [{"type": "integer"}, {"type": "string"}],
                    "pattern": QUANTITY,
                    "x-kubernetes-int-or-string": True,
                }
            else:
                p = {"type": "object", "additionalProperties": {"type": "string"}}
            if len(desc) > 90 and self.chance(0.6):
                wrapped, line = [], ""
                for word in desc.split():
                    if len(line) + len(word) > 78:
                        wrapped.append(line)
                        line = word
                    else:
                        line = f"{line} {word}" if line else word
                wrapped.append(line)
                p = {"description": Block("\n".join(wrapped)), **p}
            else:
                p = {"description": desc, **p}
            props[w] = p
        s: dict = {"type": "object", "properties": props}
        if props and self.chance(0.3):
            s["required"] = sorted(props)[: self.r.randint(1, len(props))]
        return s

    def crd(self, operator: str, group: str) -> dict:
        self.count("CustomResourceDefinition")
        kind = (
            self.pick(FIELD_WORDS).capitalize()
            + self.pick(FIELD_WORDS).capitalize()
            + self.pick(["", "Policy", "Config", "Monitor", "Set", "Rule"])
        )
        plural = kind.lower() + "s"
        # Sizes from tens of KB to ~1.5 MB (the reference mean is ~250 KB per CRD).
        budget = int(min(9000, self.r.lognormvariate(5.85, 1.0)))
        versions = []
        nver = 1 if self.chance(0.7) else self.r.randint(2, 3)
        spec_schema = self.schema(0, [budget // nver])
        for i, v in enumerate(["v1", "v1beta1", "v1alpha1"][:nver]):
            versions.append(
                {
                    "name": v,
                    "served": True,
                    "storage": i == 0,
                    "additionalPrinterColumns": [
                        {"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "description": f"{kind} is the Schema for the {plural} API. "
                            + self.sentence(),
                            "type": "object",
                            "properties": {
                                "apiVersion": {
                                    "description": APIVERSION_DOC,
                                    "type": "string",
                                },
                                "kind": {
                                    "description": KIND_DOC,
                                    "type": "string",
                                },
                                "metadata": {"type": "object"},
                                "spec": spec_schema if i == 0 else self.schema(0, [budget // nver]),
                                "status": self.schema(3, [max(5, budget // 10)]),
                            },
                            "required": ["spec"],
                        }
                    },
                    "subresources": {"status": {}},
                }
            )
        return {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {
                "name": f"{plural}.{group}",
                "annotations": {"controller-gen.kubebuilder.io/version": "v0.14.0"},
                "labels": {"app.kubernetes.io/part-of": operator},
            },
            "spec": {
                "group": group,
                "names": {
                    "kind": kind,
                    "listKind": kind + "List",
                    "plural": plural,
                    "singular": kind.lower(),
                },
                "scope": self.pick(["Namespaced", "Namespaced", "Cluster"]),
                "versions": versions,
            },
        }


# ---------------------------------------------------------------------------------------------
# Corpus layout
# ---------------------------------------------------------------------------------------------

WORKLOAD_WEIGHTS = [
    ("Deployment", 40),
    ("StatefulSet", 10),
    ("DaemonSet", 6),
    ("Job", 6),
    ("CronJob", 8),
    ("Pod", 6),
    ("ReplicaSet", 3),
    ("ReplicationController", 2),
    ("PodTemplate", 2),
    ("Rollout", 5),
]
CRD_SHARE = 187 / 3948


def generate(n_docs: int, out: Path, seed: int) -> dict:
    g = Gen(seed)
    r = g.r
    kinds = [k for k, _ in WORKLOAD_WEIGHTS]
    weights = [w for _, w in WORKLOAD_WEIGHTS]
    docs = 0
    crds = 0
    files = 0
    nbytes = 0
    crd_bytes = 0
    app_no = 0
    op_no = 0

    def write(path: Path, objs: list[dict], indent_seq: bool, header: str = "") -> int:
        nonlocal files, nbytes
        em = Emitter(indent_seq)
        parts: list[str] = [header] if header else []
        for i, o in enumerate(objs):
            if i or r.random() < 0.3:
                parts.append("---\n")
            em.emit(o, parts)
        text = "".join(parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        files += 1
        nbytes += len(text)
        return len(text)

    while docs < n_docs:
        # An operator (CRDs + a custom resource or two) whenever CRDs fall behind their share.
        if crds < CRD_SHARE * (docs + 1) and n_docs - docs >= 1:
            op_no += 1
            op = f"{g.pick(APP_WORDS)}-operator-{op_no}"
            group = (
                f"{g.pick(FIELD_WORDS)}.{g.pick(['acme.io', 'example.com', 'k8s.io', 'cncf.io'])}"
            )
            k = min(r.randint(1, 4), n_docs - docs)
            objs = [g.crd(op, group) for _ in range(k)]
            base = out / "operators" / op
            if r.random() < 0.5:
                crd_bytes += write(
                    base / "crds" / "crds.yaml",
                    objs,
                    False,
                    "# Code generated by controller-gen. DO NOT EDIT.\n",
                )
            else:
                for o in objs:
                    crd_bytes += write(base / "crds" / f"{o['metadata']['name']}.yaml", [o], False)
            docs += k
            crds += k
            if docs < n_docs:
                o = objs[0]
                g.count("CustomResource")
                cr = {
                    "apiVersion": f"{group}/v1",
                    "kind": o["spec"]["names"]["kind"],
                    "metadata": {"name": "default", "namespace": op},
                    "spec": {"replicas": r.randint(1, 3), "image": g.image(op, False)},
                }
                write(base / "examples" / "default.yaml", [cr], True)
                docs += 1
            continue

        app_no += 1
        team = g.pick(TEAMS)
        app = f"{g.pick(APP_WORDS)}-{app_no}"
        ns = team if r.random() < 0.85 else None
        insecure = r.random() < 0.35
        kind = r.choices(kinds, weights)[0]
        bundle: list[tuple[str, list[dict]]] = []
        if r.random() < 0.12:
            bundle.append(("namespace.yaml", [g.namespace(team, insecure)]))
        bundle.append(("rbac.yaml", g.rbac(app, ns, insecure)))
        cms = [g.configmap(app, ns) for _ in range(1 if r.random() < 0.8 else 2)]
        bundle.append(("configmap.yaml", cms))
        bundle.append((f"{kind.lower()}.yaml", [g.workload(kind, app, ns, insecure)]))
        if kind not in ("Job", "CronJob", "Pod", "PodTemplate") and r.random() < 0.8:
            bundle.append(("service.yaml", [g.service(app, ns)]))
            if r.random() < 0.35:
                bundle.append(("ingress.yaml", [g.ingress(app, ns)]))
        if kind in ("Deployment", "StatefulSet", "Rollout") and r.random() < 0.4:
            bundle.append(("hpa.yaml", [g.hpa(app, ns, kind)]))
        if kind in ("Deployment", "StatefulSet") and r.random() < 0.35:
            bundle.append(("pdb.yaml", [g.pdb(app, ns)]))
        if r.random() < 0.3:
            bundle.append(("networkpolicy.yaml", [g.netpol(app, ns)]))
        flat = [d for _, ds in bundle for d in ds]
        left = n_docs - docs
        if len(flat) > left:
            flat = flat[:left]
            bundle = [("all-in-one.yaml", flat)]
        base = out / "apps" / team / app
        indent_seq = r.random() < 0.5
        layout = r.random()
        if layout < 0.35:
            write(base / "all-in-one.yaml", flat, indent_seq)
        elif layout < 0.55:
            write(base / "base" / "manifests.yaml", flat, indent_seq)
        else:
            for fname, ds in bundle:
                write(base / fname, ds, indent_seq)
        docs += len(flat)

    return {
        "docs": docs,
        "crd_docs": crds,
        "files": files,
        "bytes": nbytes,
        "crd_bytes": crd_bytes,
        "crd_byte_share": round(crd_bytes / nbytes, 3) if nbytes else 0,
        "apps": app_no,
        "operators": op_no,
        "kinds": dict(sorted(g.stats.items())),
        "seed": seed,
    }


def own_git_repo(out: Path) -> None:
    """Make the corpus its own (empty) git work tree.

    Scanners that honour .gitignore (deploysafe does, via ``git ls-files``) would otherwise
    see nothing: bench/corpus/ is ignored by the project's .gitignore. A corpus is a
    checked-out deployment repository, so it gets a repository of its own.
    """
    if shutil.which("git") and not (out / ".git").exists():
        subprocess.run(["git", "init", "-q", str(out)], check=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument(
        "--docs", type=int, default=3948, help="number of YAML documents (default 3948)"
    )
    ap.add_argument("--out", type=Path, help="output directory (default bench/corpus/<docs>)")
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--force", action="store_true", help="regenerate even if the output exists")
    a = ap.parse_args(argv)
    out: Path = a.out or HERE / "corpus" / str(a.docs)
    stats_path = out.with_name(out.name + ".stats.json")
    if out.exists() and stats_path.exists() and not a.force:
        stats = json.loads(stats_path.read_text())
        if stats.get("docs") == a.docs and stats.get("seed") == a.seed:
            own_git_repo(out)
            print(
                f"{out}: exists ({stats['docs']} docs, {stats['bytes'] / 1e6:.1f} MB)",
                file=sys.stderr,
            )
            return 0
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    t0 = time.perf_counter()
    stats = generate(a.docs, out, a.seed)
    own_git_repo(out)
    stats["generate_s"] = round(time.perf_counter() - t0, 2)
    stats["path"] = os.fspath(out)
    stats_path.write_text(json.dumps(stats, indent=2) + "\n")
    print(
        f"{out}: {stats['docs']} docs ({stats['crd_docs']} CRDs) in {stats['files']} files, "
        f"{stats['bytes'] / 1e6:.1f} MB ({stats['crd_byte_share']:.0%} CRD bytes), "
        f"{stats['generate_s']} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
