#!/usr/bin/env python3
"""Deterministic generator of a real-shaped deployment corpus, and its scaled copies.

    python bench/gen_real.py --out ../corpus-1x            # the 1x corpus
    python bench/gen_real.py --out ../corpus-10x --scale 10 # 10 copies of it (hard links)

The 1x corpus has the shape of the 13-repository public corpus described in
../shared/reference/performance.md (3,517 files, 3,130 YAML files of which 684 are Helm
templates in 63 charts, 3,948 YAML documents, 247 Dockerfiles, 152 workflows + 15 actions,
304 kustomizations, 57 MB, 187 CRDs holding ~83% of the YAML bytes). It is laid out as 13
repositories (``repo-01`` .. ``repo-13``), each holding a share of:

* Helm charts (``charts/<name>/``: Chart.yaml, values.yaml, _helpers.tpl, .helmignore and
  ~11 templates using include/toYaml/if/range, renderable by the real Helm engine);
* kustomize bases shared by several overlays (``deploy/<app>/base`` + ``overlays/<env>``,
  with patches, images, namePrefix, labels and configMapGenerator; buildable by
  ``kubectl kustomize``);
* plain manifests and operators' CRDs (reusing gen_corpus.Gen: every workload kind, RBAC,
  Services, a third of the apps insecure, CRDs with large OpenAPI schemas);
* GitHub workflows and composite actions (pull_request_target, expressions in run:,
  unpinned actions, broad permissions in some), and Dockerfiles (multi-stage, root, ADD of
  URLs, curl | sh, secrets in ENV in some).

``--scale N`` (N > 1) writes N copies of the 1x corpus side by side (``copy-000``, ...)
as hard links to one 1x tree, so 100x costs inodes, not 5.7 GB of disk; the copies differ
only by path, as a monorepo of N similar repositories would. The output directory is made a
git repository of its own (``git init``, nothing committed) so .gitignore-aware scanners see
its files. A summary is written as ``<out>.stats.json``, outside the scanned directory.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_corpus  # noqa: E402
from gen_corpus import Emitter, Gen  # noqa: E402

OVERLAYS = ["dev", "test", "staging", "prod", "prod-eu", "prod-us", "dr"]
# The reference corpus's counts; kustomize: 38 bases with 7 overlays each = 304.
FULL = {
    "repos": 13,
    "charts": 63,
    "kustomize_bases": 38,
    "crds": 187,
    "workflows": 152,
    "actions": 15,
    "dockerfiles": 247,
    "docs": 3948,
}
# A miniature of the same shape, for the test that real Helm and kustomize accept it.
SAMPLE = {
    "repos": 2,
    "charts": 2,
    "kustomize_bases": 1,
    "crds": 2,
    "workflows": 3,
    "actions": 1,
    "dockerfiles": 3,
    "docs": 60,
}


def dump(objs: list[dict], indent_seq: bool = True, header: str = "") -> str:
    em = Emitter(indent_seq)
    parts: list[str] = [header] if header else []
    for i, o in enumerate(objs):
        if i:
            parts.append("---\n")
        em.emit(o, parts)
    return "".join(parts)


class Writer:
    def __init__(self, out: Path) -> None:
        self.out = out
        self.files = 0
        self.bytes = 0
        self.yaml_files = 0
        self.docs = 0
        self.by: dict[str, int] = {}

    def write(self, rel: str, text: str, what: str, docs: int = 0) -> None:
        p = self.out / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text, encoding="utf-8")
        self.files += 1
        self.bytes += len(text.encode())
        if rel.endswith((".yaml", ".yml")):
            self.yaml_files += 1
            self.docs += docs
        self.by[what] = self.by.get(what, 0) + 1
        self.by[what + "_bytes"] = self.by.get(what + "_bytes", 0) + len(text.encode())


# ---------------------------------------------------------------------------------------------
# Helm charts
# ---------------------------------------------------------------------------------------------

HELPERS = """{{/* Expand the name of the chart. */}}
{{- define "%(n)s.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "%(n)s.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%%s-%%s" .Release.Name (include "%(n)s.name" .) | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "%(n)s.labels" -}}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version | replace "+" "_" }}
{{ include "%(n)s.selectorLabels" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "%(n)s.selectorLabels" -}}
app.kubernetes.io/name: {{ include "%(n)s.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "%(n)s.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "%(n)s.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}
"""

T_WORKLOAD = """apiVersion: apps/v1
kind: %(kind)s
metadata:
  name: {{ include "%(n)s.fullname" . }}
  labels:
    {{- include "%(n)s.labels" . | nindent 4 }}
spec:
  {{- if and (not .Values.autoscaling.enabled) (ne "%(kind)s" "DaemonSet") }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  {{- if eq "%(kind)s" "StatefulSet" }}
  serviceName: {{ include "%(n)s.fullname" . }}
  {{- end }}
  selector:
    matchLabels:
      {{- include "%(n)s.selectorLabels" . | nindent 6 }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      labels:
        {{- include "%(n)s.selectorLabels" . | nindent 8 }}
    spec:
      serviceAccountName: {{ include "%(n)s.serviceAccountName" . }}
      hostNetwork: {{ .Values.hostNetwork }}
      securityContext:
        {{- toYaml .Values.podSecurityContext | nindent 8 }}
      {{- $tag := .Values.image.tag | default .Chart.AppVersion }}
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ $tag }}"
          imagePullPolicy: {{ .Values.image.pullPolicy }}
          securityContext:
            {{- toYaml .Values.securityContext | nindent 12 }}
          ports:
            - name: http
              containerPort: {{ .Values.service.port }}
              protocol: TCP
          env:
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
          livenessProbe:
            httpGet:
              path: /healthz
              port: http
          resources:
            {{- toYaml .Values.resources | nindent 12 }}
          {{- with .Values.volumeMounts }}
          volumeMounts:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with .Values.volumes }}
      volumes:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with .Values.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
"""

T_SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {{ include "%(n)s.fullname" . }}
  labels:
    {{- include "%(n)s.labels" . | nindent 4 }}
spec:
  type: {{ .Values.service.type }}
  ports:
    - port: {{ .Values.service.port }}
      targetPort: http
      protocol: TCP
      name: http
  selector:
    {{- include "%(n)s.selectorLabels" . | nindent 4 }}
"""

T_SA = """{{- if .Values.serviceAccount.create -}}
apiVersion: v1
kind: ServiceAccount
metadata:
  name: {{ include "%(n)s.serviceAccountName" . }}
  labels:
    {{- include "%(n)s.labels" . | nindent 4 }}
automountServiceAccountToken: {{ .Values.serviceAccount.automount }}
{{- end }}
"""

T_CM = """apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ include "%(n)s.fullname" . }}-config
  labels:
    {{- include "%(n)s.labels" . | nindent 4 }}
data:
  {{- range $k, $v := .Values.config }}
  {{ $k }}: {{ $v | quote }}
  {{- end }}
  app.properties: |
%(props)s
"""

T_INGRESS = """{{- if .Values.ingress.enabled -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ include "%(n)s.fullname" . }}
  labels:
    {{- include "%(n)s.labels" . | nindent 4 }}
spec:
  rules:
    {{- range .Values.ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          - path: /
            pathType: Prefix
            backend:
              service:
                name: {{ include "%(n)s.fullname" $ }}
                port:
                  number: {{ $.Values.service.port }}
    {{- end }}
{{- end }}
"""

T_HPA = """{{- if .Values.autoscaling.enabled }}
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: {{ include "%(n)s.fullname" . }}
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: %(kind)s
    name: {{ include "%(n)s.fullname" . }}
  minReplicas: {{ .Values.autoscaling.minReplicas }}
  maxReplicas: {{ .Values.autoscaling.maxReplicas }}
  metrics:
    - type: Resource
      resource:
        name: cpu
        target:
          type: Utilization
          averageUtilization: 80
{{- end }}
"""

T_PDB = """apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: {{ include "%(n)s.fullname" . }}
spec:
  minAvailable: 1
  selector:
    matchLabels:
      {{- include "%(n)s.selectorLabels" . | nindent 6 }}
"""

T_NETPOL = """{{- if .Values.networkPolicy.enabled }}
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: {{ include "%(n)s.fullname" . }}
spec:
  podSelector:
    matchLabels:
      {{- include "%(n)s.selectorLabels" . | nindent 6 }}
  policyTypes: [Ingress]
  ingress:
    - ports:
        - port: {{ .Values.service.port }}
{{- end }}
"""

T_ROLE = """{{- if .Values.rbac.create }}
apiVersion: rbac.authorization.k8s.io/v1
kind: %(rk)s
metadata:
  name: {{ include "%(n)s.fullname" . }}
rules:
  - apiGroups: [""]
    resources: {{ toJson .Values.rbac.resources }}
    verbs: {{ toJson .Values.rbac.verbs }}
{{- end }}
"""

T_BINDING = """{{- if .Values.rbac.create }}
apiVersion: rbac.authorization.k8s.io/v1
kind: %(rk)sBinding
metadata:
  name: {{ include "%(n)s.fullname" . }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: %(rk)s
  name: {{ include "%(n)s.fullname" . }}
subjects:
  - kind: ServiceAccount
    name: {{ include "%(n)s.serviceAccountName" . }}
    namespace: {{ .Release.Namespace }}
{{- end }}
"""

T_SECRET = """{{- if .Values.secret.create }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "%(n)s.fullname" . }}
type: Opaque
stringData:
  username: {{ .Values.secret.username | quote }}
{{- end }}
"""

T_TEST = """apiVersion: v1
kind: Pod
metadata:
  name: "{{ include "%(n)s.fullname" . }}-test-connection"
  annotations:
    "helm.sh/hook": test
spec:
  containers:
    - name: wget
      image: busybox
      command: ['wget']
      args: ['{{ include "%(n)s.fullname" . }}:{{ .Values.service.port }}']
  restartPolicy: Never
"""


def chart(g: Gen, w: Writer, root: str, name: str) -> None:
    r = g.r
    insecure = r.random() < 0.35
    kind = g.pick(["Deployment"] * 6 + ["StatefulSet", "DaemonSet"])
    rk = "ClusterRole" if r.random() < 0.3 else "Role"
    base = f"{root}/charts/{name}"
    w.write(
        f"{base}/Chart.yaml",
        dump(
            [
                {
                    "apiVersion": "v2",
                    "name": name,
                    "description": g.sentence(),
                    "type": "application",
                    "version": f"{r.randint(0, 5)}.{r.randint(0, 30)}.{r.randint(0, 9)}",
                    "appVersion": f"{r.randint(1, 3)}.{r.randint(0, 20)}.0",
                    "keywords": [g.pick(gen_corpus.APP_WORDS) for _ in range(3)],
                    "maintainers": [{"name": g.pick(gen_corpus.TEAMS)}],
                }
            ]
        ),
        "chart_meta",
        1,
    )
    values = {
        "replicaCount": r.randint(1, 3),
        "image": {
            "repository": g.image(name, insecure).split("@")[0].rsplit(":", 1)[0],
            "pullPolicy": "IfNotPresent",
            "tag": "latest" if insecure and r.random() < 0.5 else "",
        },
        "nameOverride": "",
        "fullnameOverride": "",
        "serviceAccount": {"create": True, "automount": insecure, "name": ""},
        "podAnnotations": {"prometheus.io/scrape": "true"},
        "hostNetwork": insecure and r.random() < 0.3,
        "podSecurityContext": {"runAsNonRoot": not insecure, "fsGroup": 2000},
        "securityContext": (
            {"privileged": True, "allowPrivilegeEscalation": True}
            if insecure
            else {
                "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True,
                "capabilities": {"drop": ["ALL"]},
                "runAsUser": 10001,
            }
        ),
        "service": {"type": g.pick(["ClusterIP", "ClusterIP", "NodePort"]), "port": 8080},
        "ingress": {"enabled": r.random() < 0.5, "hosts": [{"host": f"{name}.example.com"}]},
        "resources": (
            {}
            if insecure
            else {
                "limits": {"cpu": "500m", "memory": "256Mi"},
                "requests": {"cpu": "100m", "memory": "128Mi"},
            }
        ),
        "autoscaling": {"enabled": r.random() < 0.4, "minReplicas": 1, "maxReplicas": 5},
        "networkPolicy": {"enabled": not insecure},
        "rbac": {
            "create": True,
            "resources": ["*"] if insecure else ["configmaps", "pods"],
            "verbs": ["*"] if insecure else ["get", "list", "watch"],
        },
        "secret": {"create": r.random() < 0.3, "username": "app"},
        "env": {f"{g.pick(gen_corpus.FIELD_WORDS).upper()}_{i}": g.words(2) for i in range(4)},
        "config": {f"{g.pick(gen_corpus.FIELD_WORDS)}{i}": g.words(3) for i in range(6)},
        "volumes": (
            [{"name": "host", "hostPath": {"path": "/var/run/docker.sock"}}] if insecure else []
        ),
        "volumeMounts": (
            [{"name": "host", "mountPath": "/var/run/docker.sock"}] if insecure else []
        ),
        "nodeSelector": {},
    }
    w.write(
        f"{base}/values.yaml",
        "# Default values for " + name + ".\n" + dump([values]),
        "chart_meta",
        1,
    )
    sub = {"n": name, "kind": kind, "rk": rk}
    props = "\n".join(f"    {g.pick(gen_corpus.FIELD_WORDS)}.{i}={g.words(4)}" for i in range(12))
    templates = {
        "workload.yaml": T_WORKLOAD,
        "service.yaml": T_SERVICE,
        "serviceaccount.yaml": T_SA,
        "configmap.yaml": T_CM.replace("%(props)s", props.replace("%", "%%")),
        "ingress.yaml": T_INGRESS,
        "hpa.yaml": T_HPA,
        "pdb.yaml": T_PDB,
        "networkpolicy.yaml": T_NETPOL,
        "rbac.yaml": T_ROLE + "---\n" + T_BINDING,
        "secret.yaml": T_SECRET,
    }
    if r.random() < 0.86:  # 684 templates over 63 charts: ~10.9 a chart
        templates["tests/test-connection.yaml"] = T_TEST
    for fname, t in templates.items():
        w.write(f"{base}/templates/{fname}", t % sub, "helm_template", 1)
    w.write(f"{base}/templates/_helpers.tpl", HELPERS % {"n": name}, "helm_other")
    w.write(f"{base}/.helmignore", ".git/\n*.swp\n*.bak\n.idea/\n", "helm_other")


# ---------------------------------------------------------------------------------------------
# kustomize: shared bases, overlays
# ---------------------------------------------------------------------------------------------


def kustomize_app(g: Gen, w: Writer, root: str, app: str) -> None:
    r = g.r
    insecure = r.random() < 0.35
    ns = g.pick(gen_corpus.TEAMS)
    kind = g.pick(["Deployment"] * 5 + ["StatefulSet"])
    base = f"{root}/deploy/{app}/base"
    objs = {
        "workload.yaml": [g.workload(kind, app, None, insecure)],
        "service.yaml": [g.service(app, None)],
        "rbac.yaml": g.rbac(app, None, insecure),
        "configmap.yaml": [g.configmap(app, None)],
    }
    for fname, docs in objs.items():
        w.write(f"{base}/{fname}", dump(docs), "kustomize_resource", len(docs))
    w.write(
        f"{base}/kustomization.yaml",
        dump(
            [
                {
                    "apiVersion": "kustomize.config.k8s.io/v1beta1",
                    "kind": "Kustomization",
                    "resources": list(objs),
                    "labels": [{"pairs": {"app.kubernetes.io/part-of": app}}],
                }
            ]
        ),
        "kustomization",
        1,
    )
    wname = objs["workload.yaml"][0]["metadata"]["name"]
    cname = objs["workload.yaml"][0]["spec"]["template"]["spec"]["containers"][0]["name"]
    for env in OVERLAYS:
        d = f"{root}/deploy/{app}/overlays/{env}"
        patch = {
            "apiVersion": objs["workload.yaml"][0]["apiVersion"],
            "kind": kind,
            "metadata": {"name": wname},
            "spec": {
                "replicas": r.randint(1, 6),
                "template": {
                    "spec": {
                        "containers": [
                            {
                                "name": cname,
                                "resources": {
                                    "limits": {"memory": f"{r.choice([256, 512, 1024])}Mi"}
                                },
                                **(
                                    {"securityContext": {"privileged": True}}
                                    if insecure and env == "dev"
                                    else {}
                                ),
                            }
                        ]
                    }
                },
            },
        }
        w.write(f"{d}/patch-workload.yaml", dump([patch]), "kustomize_patch", 1)
        k: dict = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "namespace": f"{ns}-{env}",
            "namePrefix": f"{env}-",
            "resources": ["../../base"],
            "patches": [{"path": "patch-workload.yaml"}],
            "images": [{"name": "busybox", "newTag": f"1.{r.randint(30, 36)}"}],
            "labels": [{"pairs": {"environment": env}}],
        }
        if r.random() < 0.5:
            k["configMapGenerator"] = [
                {
                    "name": f"{app}-env",
                    "literals": [f"ENV={env}", f"LOG_LEVEL={g.pick(['debug', 'info'])}"],
                }
            ]
        w.write(f"{d}/kustomization.yaml", dump([k]), "kustomization", 1)


# ---------------------------------------------------------------------------------------------
# Workflows, actions, Dockerfiles
# ---------------------------------------------------------------------------------------------


def workflow(g: Gen, name: str) -> dict:
    r = g.r
    insecure = r.random() < 0.3
    trigger: dict = {"push": {"branches": ["main"]}, "pull_request": {"branches": ["main"]}}
    if insecure and r.random() < 0.5:
        trigger = {"pull_request_target": {"types": ["opened", "synchronize"]}}
    sha = f"{r.getrandbits(160):040x}"
    checkout = "actions/checkout@v4" if r.random() < 0.6 else f"actions/checkout@{sha}"
    steps: list[dict] = [{"uses": checkout}]
    if insecure and "pull_request_target" in trigger:
        steps[0]["with"] = {"ref": "${{ github.event.pull_request.head.sha }}"}
    steps.append({"uses": "actions/setup-python@v5", "with": {"python-version": "3.12"}})
    steps.append({"name": "Install", "run": "python -m pip install -r requirements.txt"})
    if insecure:
        steps.append(
            {"name": "Greet", "run": 'echo "Title: ${{ github.event.pull_request.title }}"'}
        )
    steps.append({"name": "Test", "run": "make test\n" + "\n".join(g.words(3) for _ in range(3))})
    if r.random() < 0.4:
        steps.append(
            {
                "name": "Publish",
                "if": "github.ref == 'refs/heads/main'",
                "env": {"TOKEN": "${{ secrets.PUBLISH_TOKEN }}"},
                "run": "./scripts/publish.sh",
            }
        )
    wf: dict = {"name": name, "on": trigger}
    if not insecure:
        wf["permissions"] = {"contents": "read"}
    elif r.random() < 0.5:
        wf["permissions"] = "write-all"
    wf["jobs"] = {
        "build": {
            "runs-on": "ubuntu-latest",
            "strategy": {"matrix": {"os": ["ubuntu-latest", "macos-latest"]}},
            "steps": steps,
        }
    }
    return wf


def action(g: Gen, name: str) -> dict:
    return {
        "name": name,
        "description": g.sentence(),
        "inputs": {"version": {"description": "tool version", "required": False}},
        "runs": {
            "using": "composite",
            "steps": [
                {
                    "shell": "bash",
                    "run": 'curl -sSL "https://example.com/${{ inputs.version }}/i.sh" | bash',
                },
                {"uses": "actions/cache@v4", "with": {"path": "~/.cache", "key": name}},
            ],
        },
    }


def dockerfile(g: Gen, app: str) -> str:
    r = g.r
    insecure = r.random() < 0.35
    lang = g.pick(["golang:1.22", "python:3.12-slim", "node:20", "rust:1.79", "eclipse-temurin:21"])
    lines = [f"# {g.sentence()}", f"FROM {lang} AS build", "WORKDIR /src", "COPY . ."]
    lines += [
        "RUN " + g.pick(["make build", "go build -o /out/app ./...", "npm ci && npm run build"])
    ]
    if insecure:
        lines.append("RUN curl -fsSL https://get.example.com/install.sh | sh")
        lines.append("ADD https://example.com/tool.tar.gz /opt/")
        if r.random() < 0.4:
            lines.append("ENV DB_PASSWORD=changeme")
    final = g.pick(
        ["gcr.io/distroless/static:nonroot", "alpine:3.20", "debian:bookworm-slim", "ubuntu"]
    )
    lines += [f"FROM {final}", "COPY --from=build /out/ /app/"]
    lines += (
        [f"RUN apt-get update && apt-get install -y {g.pick(['ca-certificates', 'curl', 'tini'])}"]
        if "debian" in final or "ubuntu" in final
        else []
    )
    if not insecure:
        lines.append("USER 10001:10001")
    elif r.random() < 0.5:
        lines.append("USER root")
    lines += ["EXPOSE 8080", 'ENTRYPOINT ["/app/app"]', ""]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# The whole 1x corpus
# ---------------------------------------------------------------------------------------------


def generate(out: Path, seed: int, shape: dict[str, int]) -> dict:
    g = Gen(seed)
    r = g.r
    w = Writer(out)
    n_repos = shape["repos"]
    repos = [f"repo-{i + 1:02d}" for i in range(n_repos)]

    def spread(n: int) -> list[str]:
        return [repos[i % n_repos] for i in range(n)]

    for i, root in enumerate(spread(shape["charts"])):
        chart(g, w, root, f"{g.pick(gen_corpus.APP_WORDS)}-chart-{i}")
    for i, root in enumerate(spread(shape["kustomize_bases"])):
        kustomize_app(g, w, root, f"{g.pick(gen_corpus.APP_WORDS)}-k{i}")
    for i, root in enumerate(spread(shape["workflows"])):
        name = f"{g.pick(['ci', 'release', 'lint', 'e2e', 'docs', 'nightly'])}-{i}"
        w.write(f"{root}/.github/workflows/{name}.yml", dump([workflow(g, name)]), "workflow", 1)
    for i, root in enumerate(spread(shape["actions"])):
        name = f"setup-{g.pick(gen_corpus.APP_WORDS)}-{i}"
        w.write(f"{root}/.github/actions/{name}/action.yml", dump([action(g, name)]), "action", 1)
    for i, root in enumerate(spread(shape["dockerfiles"])):
        app = f"{g.pick(gen_corpus.APP_WORDS)}-{i}"
        w.write(f"{root}/images/{app}/Dockerfile", dockerfile(g, app), "dockerfile")
    for root in repos:
        w.write(f"{root}/README.md", f"# {root}\n\n{g.sentence()}\n", "other")

    # Operators' CRDs (and a custom resource each), then plain manifests up to the doc count.
    crds = 0
    op = 0
    while crds < shape["crds"]:
        op += 1
        root = repos[op % n_repos]
        name = f"{g.pick(gen_corpus.APP_WORDS)}-operator-{op}"
        group = f"{g.pick(gen_corpus.FIELD_WORDS)}.example.com"
        objs = [g.crd(name, group) for _ in range(min(r.randint(1, 4), shape["crds"] - crds))]
        crds += len(objs)
        rel = f"{root}/operators/{name}/crds"
        if r.random() < 0.5:
            w.write(f"{rel}/crds.yaml", dump(objs, False), "crd", len(objs))
        else:
            for o in objs:
                w.write(f"{rel}/{o['metadata']['name']}.yaml", dump([o], False), "crd", 1)
        cr = {
            "apiVersion": f"{group}/v1",
            "kind": objs[0]["spec"]["names"]["kind"],
            "metadata": {"name": "default", "namespace": name},
            "spec": {"replicas": r.randint(1, 3), "image": g.image(name, False)},
        }
        w.write(f"{root}/operators/{name}/examples/default.yaml", dump([cr]), "manifest", 1)

    kinds = [k for k, _ in gen_corpus.WORKLOAD_WEIGHTS]
    weights = [x for _, x in gen_corpus.WORKLOAD_WEIGHTS]
    app_no = 0
    while w.docs < shape["docs"]:
        app_no += 1
        root = repos[app_no % n_repos]
        team = g.pick(gen_corpus.TEAMS)
        app = f"{g.pick(gen_corpus.APP_WORDS)}-{app_no}"
        insecure = r.random() < 0.35
        kind = r.choices(kinds, weights)[0]
        docs = [g.workload(kind, app, team, insecure)]
        if kind not in ("Job", "CronJob", "Pod", "PodTemplate"):
            docs.append(g.service(app, team))
        if r.random() < 0.5:
            docs.extend(g.rbac(app, team, insecure))
        # dashboards and config files: the bulk of real non-CRD bytes
        docs.extend(g.configmap(app, team) for _ in range(1 if r.random() < 0.5 else 3))
        docs = docs[: shape["docs"] - w.docs]
        if r.random() < 0.5:
            w.write(f"{root}/manifests/{team}/{app}.yaml", dump(docs), "manifest", len(docs))
        else:
            for d in docs:
                fname = d["kind"].lower() + ".yaml"
                w.write(f"{root}/manifests/{team}/{app}/{fname}", dump([d]), "manifest", 1)

    return {
        "scale": 1,
        "seed": seed,
        "files": w.files,
        "yaml_files": w.yaml_files,
        "docs": w.docs,
        "bytes": w.bytes,
        "charts": shape["charts"],
        "helm_templates": w.by.get("helm_template", 0),
        "kustomizations": w.by.get("kustomization", 0),
        "workflows": w.by.get("workflow", 0),
        "actions": w.by.get("action", 0),
        "dockerfiles": w.by.get("dockerfile", 0),
        "crd_docs": crds,
        "crd_bytes": w.by.get("crd_bytes", 0),
        "crd_byte_share": round(w.by.get("crd_bytes", 0) / w.bytes, 3),
        "non_crd_yaml_bytes": sum(
            v
            for k, v in w.by.items()
            if k.endswith("_bytes")
            and k not in ("crd_bytes", "dockerfile_bytes", "other_bytes", "helm_other_bytes")
        ),
    }


def link_copies(one: Path, out: Path, n: int) -> None:
    """``n`` copies of the tree ``one`` under ``out/copy-NNN``, as hard links."""
    for i in range(n):
        dst = out / f"copy-{i:03d}"
        for root, dirs, files in os.walk(one):
            dirs[:] = [d for d in dirs if d != ".git"]
            rel = os.path.relpath(root, one)
            target = dst / rel
            target.mkdir(parents=True, exist_ok=True)
            for f in files:
                os.link(os.path.join(root, f), target / f)


def own_git_repo(out: Path) -> None:
    if shutil.which("git") and not (out / ".git").exists():
        subprocess.run(["git", "init", "-q", str(out)], check=True)


def build(
    out: Path, scale: int, seed: int, one: Path | None = None, shape: dict[str, int] = FULL
) -> dict:
    """Write the corpus at ``scale`` into ``out`` (replaced); ``one``: an existing 1x tree to
    link from (made beside ``out`` when None)."""
    stats_path = out.with_name(out.name + ".stats.json")
    if out.exists() and stats_path.exists():
        stats = json.loads(stats_path.read_text())
        if stats.get("scale") == scale and stats.get("seed") == seed and stats["shape"] == shape:
            return stats
    if out.exists():
        shutil.rmtree(out)
    t0 = time.perf_counter()
    if scale == 1:
        out.mkdir(parents=True)
        stats = generate(out, seed, shape)
        stats["shape"] = shape
    else:
        if one is None:
            one = out.with_name(out.name + "-1x")
            build(one, 1, seed, shape=shape)
        stats = dict(json.loads(one.with_name(one.name + ".stats.json").read_text()))
        out.mkdir(parents=True)
        link_copies(one, out, scale)
        for k in (
            "files",
            "yaml_files",
            "docs",
            "bytes",
            "charts",
            "helm_templates",
            "kustomizations",
            "workflows",
            "actions",
            "dockerfiles",
            "crd_docs",
            "crd_bytes",
            "non_crd_yaml_bytes",
        ):
            stats[k] = stats[k] * scale
        stats["scale"] = scale
    own_git_repo(out)
    stats["generate_s"] = round(time.perf_counter() - t0, 2)
    stats_path.write_text(json.dumps(stats, indent=2) + "\n")
    return stats


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory (replaced)")
    ap.add_argument("--scale", type=int, default=1, help="copies of the 1x corpus (default 1)")
    ap.add_argument("--seed", type=int, default=20261206)
    ap.add_argument("--sample", action="store_true", help="a miniature of the same shape")
    a = ap.parse_args(argv)
    s = build(a.out.resolve(), a.scale, a.seed, shape=SAMPLE if a.sample else FULL)
    print(
        f"{a.out}: {s['scale']}x, {s['files']:,} files ({s['yaml_files']:,} YAML, "
        f"{s['helm_templates']:,} Helm templates in {s['charts']} charts), {s['docs']:,} YAML "
        f"documents, {s['kustomizations']} kustomizations, {s['workflows']} workflows + "
        f"{s['actions']} actions, {s['dockerfiles']} Dockerfiles, {s['crd_docs']} CRDs "
        f"({s['crd_byte_share']:.0%} of bytes), {s['bytes'] / 1e6:.1f} MB, {s['generate_s']} s",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
