"""Config files embedded in a ConfigMap's value: parsed as their format, each setting judged
by its own name, each finding on the line that sets it."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from deploysafe.config import Config
from deploysafe.engine import check_documents, sources
from deploysafe.model import Target
from deploysafe.secrets import embedded
from deploysafe.secrets.detect import DetectOptions, analyse
from deploysafe.secrets.names import credential_name
from tests.support.secretgen import expand


def test_formats_and_settings_with_lines() -> None:
    yaml_text = "extensions:\n  bearertokenauth:\n    token: 'abc'\nlist:\n- name: x\n"
    assert embedded.config_format("relay", yaml_text) == "yaml"
    assert [
        (s.key, s.name, s.value, s.line, s.column, s.quoted)
        for s in embedded.settings(yaml_text) or ()
    ] == [
        ("extensions.bearertokenauth.token", "token", "abc", 3, 13, True),
        ("list.name", "name", "x", 5, 9, False),
    ]
    ini = "; kiali\n[login_token]\nsigning_key = abc\n"
    assert embedded.config_format("kiali", ini) == "ini"
    assert [(s.key, s.line, s.column) for s in embedded.settings(ini) or ()] == [
        ("login_token.signing_key", 3, 15)
    ]
    props = 'spring.datasource.url=jdbc:x\nspring.datasource.password = "abc"\n'
    assert embedded.config_format("app", props) == "properties"
    assert [(s.key, s.value, s.column) for s in embedded.settings(props) or ()] == [
        ("spring.datasource.url", "jdbc:x", 23),
        ("spring.datasource.password", "abc", 31),
    ]
    assert embedded.config_format("json", '{\n  "a": {"token": "x"}\n}') == "json"
    assert embedded.settings("#!/bin/sh\necho hi\n", "run.sh") is None
    assert embedded.settings("one line", "x") is None


def test_credentials_are_judged_by_their_own_names() -> None:
    weak = "hunter2" * 2
    text = f"extensions:\n  bearertokenauth:\n    token: {weak}\n  other:\n    name: {weak}\n"
    found = embedded.credentials(text, "relay", DetectOptions()) or ()
    assert [(j.setting.key, j.setting.line, j.verdict) for j in found] == [
        ("extensions.bearertokenauth.token", 3, "secret")
    ]


def test_credentials_take_the_keyword_hits_an_analysis_found() -> None:
    """DS311 passes the analysis's keyword hits of a value instead of a second search: the
    same settings either way, and none when the hits hold no credential key."""
    weak = "hunter2" * 2
    props = f"db.user=app\nDB_PASSWORD={weak}\nname=Straße\n"
    for name, value in (("app.properties", props), ("relay", f"a:\n  apiToken: {weak}\n")):
        names = analyse(value, name).names
        assert names is not None and names
        with_hits = embedded.credentials(value, name, DetectOptions(), names)
        assert with_hits == embedded.credentials(value, name, DetectOptions())
        assert with_hits
        assert embedded.credentials(value, name, DetectOptions(), []) == ()
    # Lowering changes the length of this text: its hits are not the analysis's offsets.
    assert analyse("İ password=x", "x.ini").names is None


def test_credentials_are_the_credential_named_settings_judged() -> None:
    """Only settings with a credential name are made and judged: the same settings, in the
    same order, as `settings` gives, filtered."""
    weak = "hunter2" * 2
    props = "".join(f"k{i}=v{i}\n" for i in range(50)) + f"[s]\napi_token = '{weak}'\n"
    props += f"db.password={weak}\nname=x\n"
    text = f"a:\n  token: {weak}\n  b: [1, {{password: '{weak}'}}]\n  c: x\n"
    for name, value in (("app.ini", props), ("relay", text)):
        found = embedded.credentials(value, name, DetectOptions()) or ()
        settings = embedded.settings(value, name) or ()
        named = [s for s in settings if credential_name(s.name) is not None]
        assert [j.setting for j in found] == named
        assert len(found) == 2


def _findings(text: str) -> list[tuple[str, int, int, str]]:
    loaded = sources.load(text, "deploy/collector.yaml", {Target.KUBERNETES})
    report = check_documents(loaded.documents, Config())
    return [(f.rule_id, f.line, f.column, f.message) for f in report.findings]


def test_configmap_embedded_configs_point_at_the_line() -> None:
    weak = "hunter2" * 2
    padded = "CHANGE" + "ME" + "0" * 8
    text = textwrap.dedent(
        f"""\
        apiVersion: v1
        kind: ConfigMap
        metadata: {{name: otel, namespace: obs}}
        data:
          relay: |
            extensions:
              bearertokenauth:
                token: "{weak}"
            service:
              extensions: [bearertokenauth]
          kiali.ini: |
            [login_token]
            signing_key = {padded}
        """
    )
    assert _findings(text) == [
        (
            "DS311",
            8,
            17,
            "ConfigMap otel key 'relay' sets extensions.bearertokenauth.token to a literal "
            "credential: hu…(14 chars)",
        ),
        (
            "DS311",
            13,
            19,
            "ConfigMap otel key 'kiali.ini' sets login_token.signing_key to a literal "
            "credential: CHA…(16 chars)",
        ),
    ]


def test_embedded_references_and_plain_settings_are_fine() -> None:
    text = textwrap.dedent(
        """\
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: otel, namespace: obs}
        data:
          relay: |
            extensions:
              bearertokenauth:
                token: ${env:OTEL_TOKEN}
            exporters:
              otlp: {endpoint: collector:4317}
        """
    )
    assert _findings(text) == []


def test_a_token_in_an_embedded_setting_is_one_finding() -> None:
    gh = "gh" + "p_" + expand("{an:36}", 40)
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ci, namespace: ci}\ndata:\n"
        f"  app.yaml: |\n    github:\n      token: {gh}\n"
    )
    assert [(r, line, col) for r, line, col, _ in _findings(text)] == [("DS311", 7, 14)]


def test_hostile_embedded_values_are_linear() -> None:
    """A long line, or a key word repeated, costs one pass each (no parse without a key)."""
    code = (
        "import time\n"
        "from deploysafe.secrets import embedded\n"
        "from deploysafe.secrets.detect import DetectOptions\n"
        "t = time.perf_counter()\n"
        "for text in ('a: b\\n' + 'x' * 3_000_000 + 'token', 'a: b\\n' + 'token' * 600_000):\n"
        "    assert embedded.credentials(text, 'x.yaml', DetectOptions()) == ()\n"
        "print(round(time.perf_counter() - t, 2))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip()) < 20.0


def test_line_formats_keep_the_text_reading_of_settings_inside_a_line() -> None:
    pw = expand("{an:14}", 44)
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata:\n"
        "  app.properties: |\n"
        "    spring.datasource.url=jdbc:db2://db:50000/shop\n"
        f"    spring.datasource.hikari.data-source-properties=user=app;password={pw}\n"
    )
    assert [(r, line, col) for r, line, col, _ in _findings(text)] == [("DS311", 7, 71)]


def test_an_embedded_file_nested_to_libyamls_limit_is_still_judged() -> None:
    """A ConfigMap's YAML value nested 990 lists deep (libyaml stops at 1,000) ended DS311
    with a RecursionError; its credential setting on the next line is still reported."""
    password = expand("{an:10}-{an:12}", seed=41)
    deep = "[" * 990 + "a" + "]" * 990
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata:\n"
        f"  app.yaml: |\n    k: {deep}\n    password: {password}\n"
    )
    loaded = sources.load(text, "cm.yaml", {Target.TEXT, Target.KUBERNETES})
    report = check_documents(loaded.documents, Config())
    assert [(e.line, e.message) for e in (*loaded.errors, *report.errors)] == []
    assert ("DS311", 7) in {(f.rule_id, f.line) for f in report.findings}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only\n\n; comments\n",
        "{\n" + '  "a": 1,\n' * 2000 + "}\n",
        "x" * 5000 + "\nkey = value\n",  # the head's only line is cut
        "\n" * 4095 + "\r\nkey: 1\n",  # a CRLF across the head's end
        "#" * 4095 + "\n{}\n",  # the first body line just past the head
        " " * 4095 + "\u2028" + "a = b\n" * 3,  # a rarer line break at the head's end
        "# c\n" * 1200 + "  [section]\n",
    ],
)
def test_the_first_body_line_is_the_text_s_whatever_its_head(text: str) -> None:
    """Found in the text's first 4 kB when they hold it: the same line as in all of it."""
    lines = [
        ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith(("#", ";"))
    ]
    assert embedded._first_body_line(text) == (lines[0] if lines else None)
