"""DS310 judges a committed Secret by what its values hold: one finding per Secret, at its
most severe secret, listing the keys with secret material; none for a Secret without any."""

from __future__ import annotations

import base64
import textwrap

from deploysafe.config import Config
from deploysafe.engine import check_documents, sources
from deploysafe.model import Finding, Severity, Target, redact
from tests.support.secretgen import expand, fake_github_token

PW = expand("{an:6}-{an:9}", seed=31)
RANDOM = expand("{an:24}", seed=32)
GH = fake_github_token()
HEAD = "apiVersion: v1\nkind: Secret\nmetadata: {name: app, namespace: shop}\n"


def secret_findings(text: str) -> list[Finding]:
    loaded = sources.load(text, "k8s/secret.yaml", {Target.TEXT, Target.KUBERNETES})
    assert not loaded.errors, loaded.errors
    report = check_documents(loaded.documents, Config())
    return [f for f in report.findings if f.rule_id in ("DS301", "DS302", "DS310")]


def rows(text: str) -> list[tuple[str, int, Severity, str]]:
    return [(f.rule_id, f.line, f.severity, f.message) for f in secret_findings(text)]


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def block(text: str) -> str:
    return "|\n" + textwrap.indent(text, "    ")


GRAFANA_INI = "[date_formats]\nfull_date = YYYY-MM-DD HH:mm:ss\n[security]\nadmin_user = admin\n"
DATASOURCES = (
    "apiVersion: 1\ndatasources:\n- name: Prometheus\n  type: prometheus\n"
    "  url: http://prometheus-operated:9090/\n  access: proxy\n"
)
ALERTMANAGER = (
    "global:\n  resolve_timeout: 5m\nroute:\n  group_by: [namespace]\n  receiver: 'null'\n"
    "  routes:\n  - receiver: 'null'\n    matchers: [alertname = Watchdog]\nreceivers:\n"
    "- name: 'null'\ntemplates:\n- /etc/alertmanager/config/*.tmpl\n"
)


def test_secrets_without_secret_material_are_not_reported() -> None:
    """Configuration that a chart keeps in a Secret: no credential in any value."""
    assert rows(HEAD + f"stringData:\n  grafana.ini: {block(GRAFANA_INI)}") == []
    assert rows(HEAD + f"data:\n  datasources.yaml: {b64(DATASOURCES)}\n") == []
    assert rows(HEAD + f"data:\n  alertmanager.yaml: {b64(ALERTMANAGER)}\n") == []
    # A user name, a URL without credentials, a short chart default under a token key.
    plain = "  username: app\n  mongodb-uri: mongodb://mongodb:27017\n  fastly-api-token: token\n"
    assert rows(HEAD + "stringData:\n" + plain) == []
    # A public certificate is no secret; its private key is.
    cert = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n"
    assert rows(HEAD + f"data:\n  ca.crt: {b64(cert)}\n") == []


def test_embedded_config_points_at_its_line() -> None:
    ini = GRAFANA_INI + f"admin_password = {PW}\n"
    text = HEAD + f"stringData:\n  url: http://grafana:3000\n  grafana.ini: {block(ini)}"
    # line 6 is `grafana.ini: |`; the INI's fifth line is the file's 11th
    assert rows(text) == [
        (
            "DS310",
            11,
            Severity.HIGH,
            "Secret app commits secret material (plain text): 'grafana.ini' sets "
            f"admin_password to a literal credential (line 5): {redact(PW)}",
        )
    ]
    assert secret_findings(text)[0].column == 22


def test_base64_embedded_config_is_reported_at_its_key() -> None:
    yaml = f"global:\n  resolve_timeout: 5m\n  smtp_auth_password: {PW}\n"
    assert rows(HEAD + f"data:\n  alertmanager.yaml: {b64(yaml)}\n") == [
        (
            "DS310",
            5,
            Severity.HIGH,
            "Secret app commits secret material (base64 is an encoding, not encryption): "
            "'alertmanager.yaml' sets smtp_auth_password to a literal credential (line 3): "
            f"{redact(PW)}",
        )
    ]


def test_bearer_token_in_an_embedded_yaml_file() -> None:
    config = f"scrape_configs:\n- job_name: api\n  bearer_token: {RANDOM}\n"
    assert rows(HEAD + f"stringData:\n  prometheus.yaml: {block(config)}") == [
        (
            "DS310",
            8,
            Severity.HIGH,
            "Secret app commits secret material (plain text): 'prometheus.yaml' sets "
            f"bearer_token to a literal credential (line 3): {redact(RANDOM)}",
        )
    ]


def test_one_finding_per_secret_at_its_most_severe_key() -> None:
    """A token of a known format is critical; every key with secret material is listed;
    DS301's findings on either token in the manifest fold into the one finding."""
    other = fake_github_token(seed=6)
    text = HEAD + (
        "stringData:\n"
        "  host: db.shop.svc\n"
        f"  DB_PASSWORD: {PW}\n"
        f"  SESSION_SEED: {RANDOM}\n"
        f"  GH_TOKEN: {GH}\n"
        f"  MIRROR_TOKEN: {other}\n"
    )
    found = secret_findings(text)
    assert [(f.rule_id, f.line, f.severity, f.also, f.message) for f in found] == [
        (
            "DS310",
            8,
            Severity.CRITICAL,
            ("DS301",),
            "Secret app commits secret material (plain text): 'DB_PASSWORD' holds a "
            "password-like literal; 'SESSION_SEED' holds a random-looking value; 'GH_TOKEN' "
            "holds a GitHub personal access token (classic); 'MIRROR_TOKEN' holds a GitHub "
            f"personal access token (classic): {redact(GH)}. Also DS301: a known secret format",
        )
    ]
    assert len(found[0].other_hashes) == 3


def test_severity_follows_the_material() -> None:
    assert [r[:3] for r in rows(HEAD + f"stringData:\n  password: {PW}\n")] == [
        ("DS310", 5, Severity.HIGH)
    ]
    assert rows(HEAD + "stringData:\n  password: changeme\n") == [
        (
            "DS310",
            5,
            Severity.HIGH,
            "Secret app commits secret material (plain text): 'password' holds a well-known "
            f"default password: {redact('changeme')}",
        )
    ]
    assert rows(HEAD + f"data:\n  session: {b64(RANDOM)}\n") == [
        (
            "DS310",
            5,
            Severity.MEDIUM,
            "Secret app commits secret material (base64 is an encoding, not encryption): "
            f"'session' holds a random-looking value: {redact(RANDOM)}",
        )
    ]


def test_user_name_equal_to_its_password_is_reported_under_the_password() -> None:
    text = HEAD + f"stringData:\n  username: {RANDOM}\n  password: {RANDOM}\n"
    found = secret_findings(text)
    assert [(f.line, f.pointer, f.severity) for f in found] == [
        (6, "/stringData/password", Severity.HIGH)
    ]
    assert found[0].message == (
        "Secret app commits secret material (plain text): 'username' holds a random-looking "
        f"value; 'password' holds a password-like literal: {redact(RANDOM)}"
    )


def test_external_secret_template_literals_are_judged_alike() -> None:
    head = (
        "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\n"
        "metadata: {name: db, namespace: shop}\nspec:\n  target:\n    template:\n      data:\n"
    )
    assert rows(head + "        user: app\n        dsn: '{{ .dsn }}'\n") == []
    # DS302 reads the manifest as text too (an ExternalSecret's template is not a Secret's
    # data, which the text reading leaves to DS310).
    assert rows(head + f"        password: {PW}\n") == [
        (
            "DS310",
            8,
            Severity.HIGH,
            "ExternalSecret db templates literal values instead of references to the store: "
            f"'password' holds a password-like literal: {redact(PW)}",
        ),
        ("DS302", 8, Severity.HIGH, f"password is set to a literal credential: {redact(PW)}"),
    ]
