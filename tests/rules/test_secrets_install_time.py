"""Values a Helm chart generates or looks up at install time are not committed secrets:
real charts rendered by the real Helm engine."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.engine import RenderOptions, scan
from deploysafe.inputs.render import helm_available
from tests.support.scantools import write_tree

pytestmark = pytest.mark.skipif(helm_available() is None, reason="neither helm nor helm-python-sdk")

SECRET = """\
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-auth
  namespace: shop
type: Opaque
{{- $old := lookup "v1" "Secret" "shop" "auth" }}
{{- $pw := randAlphaNum 24 }}
{{- $kept := $pw }}
data:
  password: {{ randAlphaNum 24 | b64enc | quote }}
  token: {{ default (randAscii 32) .Values.token | b64enc | quote }}
  tls.key: {{ genPrivateKey "rsa" | b64enc | quote }}
  derived: {{ derivePassword 1 "long" "pw" "user" "shop.internal" | b64enc }}
  kept: {{ $kept | b64enc }}
  api-key: {{ .Values.apiKey | b64enc }}
"""
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          env:
            - name: SESSION_SECRET
              value: {{ randAlphaNum 32 | quote }}
            - name: API_TOKEN
              value: {{ .Values.apiKey | quote }}
"""


def test_generated_and_looked_up_values_are_not_committed(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "chart/Chart.yaml": "apiVersion: v2\nname: shop\nversion: 0.1.0\n",
            "chart/values.yaml": 'token: ""\napiKey: Tz8-qLm2Vx4q\n',
            "chart/templates/secret.yaml": SECRET,
            "chart/templates/deployment.yaml": DEPLOYMENT,
        },
    )
    report = scan([tmp_path], Config(), root=tmp_path, render=RenderOptions(), jobs=1)
    got = sorted(
        (f.rule_id, f.file, f.line)
        for f in report.findings
        if f.rule_id in ("DS302", "DS310", "DS312")
    )
    assert got == [
        ("DS302", "chart/values.yaml", 2),
        ("DS310", "chart/templates/secret.yaml", 16),
        ("DS312", "chart/templates/deployment.yaml", 16),
    ]
