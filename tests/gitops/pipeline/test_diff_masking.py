"""What the secrets rules would report never reaches the output of a release diff or plan:
Secret values (also through `last-applied-configuration`), ConfigMap tokens and
credential settings, env literals and tokens in a container's arguments."""

from __future__ import annotations

import base64
import json

from deploysafe.cli.exits import EXIT_CLEAN
from deploysafe.model import redact
from tests.gitops.pipeline.conftest import App
from tests.support.secretgen import expand, fake_aws_key_id, fake_github_token

LEAKY = """\
apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: {{ .Values.applied | quote }}
type: Opaque
data: {apikey: {{ .Values.b64 | quote }}}
stringData: {password: {{ .Values.password | quote }}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: leaky}
data:
  notes: {{ printf "deploy with %s" .Values.github | quote }}
  DB_PASSWORD: {{ .Values.cmPassword | quote }}
  application.properties: |
    server.port=8080
    spring.datasource.password={{ .Values.propsPassword }}
"""


def planted(seed: int) -> dict[str, str]:
    """Values of seven kinds, different for each seed."""
    return {
        "password": expand("Pw{an:14}-{an:6}", seed),
        "apikeyPlain": expand("Ak{an:22}", seed + 1),
        "appliedPassword": expand("La{an:16}", seed + 2),
        "github": fake_github_token(seed + 3),
        "cmPassword": expand("Cm{an:12}-{an:4}", seed + 4),
        "propsPassword": expand("Pp{an:16}", seed + 5),
        "envKey": expand("Ev{an:18}", seed + 6),
        "awsKey": fake_aws_key_id(seed + 7),
    }


def configure(app: App, seed: int) -> dict[str, str]:
    v = planted(seed)
    applied = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db"},
        "stringData": {"password": v["appliedPassword"]},
    }
    values = {
        "replicas": 3,
        "message": "hello",
        "password": v["password"],
        "b64": base64.b64encode(v["apikeyPlain"].encode()).decode(),
        "applied": json.dumps(applied),
        "github": v["github"],
        "cmPassword": v["cmPassword"],
        "propsPassword": v["propsPassword"],
        "envKey": v["envKey"],
        "awsKey": v["awsKey"],
    }
    app.write("values-prod.yaml", json.dumps(values))
    app.commit(f"values {seed}")
    return v


def test_diff_and_plan_show_no_planted_secret(app: App) -> None:
    app.write("chart/templates/leaky.yaml", LEAKY)
    deployment = app.root / "chart/templates/deployment.yaml"
    deployment.write_text(
        deployment.read_text().replace(
            "        envFrom:\n",
            '        args: [serve, {{ printf "--aws-key-id=%s" .Values.awsKey | quote }}]\n'
            "        env:\n"
            "        - {name: API_KEY, value: {{ .Values.envKey | quote }}}\n"
            "        envFrom:\n",
        )
    )
    rules = ("DS301", "DS302", "DS310", "DS311", "DS312", "DS508")
    app.write(
        "deploysafe.yaml",
        app.root.joinpath("deploysafe.yaml").read_text()
        + "exceptions:\n"
        + "".join(f"- {{rule: {r}, reason: test of masking}}\n" for r in rules),
    )
    first = configure(app, 11)
    deployed = app.cli("deploy", "--trust-on-first-use", "prod")
    assert deployed.exit_code == EXIT_CLEAN, deployed.output
    second = configure(app, 29)
    plan = app.cli("deploy", "prod", "--plan")
    assert plan.exit_code == EXIT_CLEAN, plan.output
    assert "  ~ ConfigMap shop/leaky (changed)" in plan.output
    deployed = app.cli("deploy", "prod")
    assert deployed.exit_code == EXIT_CLEAN, deployed.output
    outputs = {
        "plan": plan.output,
        "diff": app.cli("diff", "prod").output,
        "diff json": app.cli("diff", "prod", "--format", "json").output,
        "first diff json": app.cli("diff", "prod", "1", "--format", "json").output,
    }
    assert "~ Secret shop/db (changed)" in outputs["diff"]
    assert "<masked> sha256:" in outputs["diff"]
    for name, value in [*first.items(), *second.items()]:
        for shown, text in outputs.items():
            assert value not in text, f"{name} shown in {shown}"
            assert value[4:-4] not in text, f"{name} shown in {shown}"


def test_history_shows_no_secret_from_a_reason_or_a_hand_commit(app: App) -> None:
    assert app.cli("deploy", "--trust-on-first-use", "prod").exit_code == EXIT_CLEAN
    app.write("values-prod.yaml", "replicas: 4\nmessage: two\n")
    app.commit("two")
    assert app.cli("deploy", "prod").exit_code == EXIT_CLEAN
    token, other = fake_github_token(51), fake_github_token(53)
    back = app.cli("rollback", "prod", "--reason", f"leaked {token}")
    assert back.exit_code == EXIT_CLEAN, back.output
    app.env_edit({"clusters/prod/shop/extra.yaml": "a: 1\n"}, f"hotfix with {other}")
    text = app.cli("history", "prod").output
    data = app.cli("history", "prod", "--format", "json").output
    for secret in (token, other):
        assert secret not in text + data
    rows = json.loads(data)
    assert rows[0]["note"] == (
        f"changed clusters/prod/shop outside deploysafe: hotfix with {redact(other)}"
    )
    assert rows[1]["marked_bad"] == {"prod-2": f"leaked {redact(token)}"}
    assert f"BAD: leaked {redact(token)}" in text
