"""History, diff, rollback (and rolling forward again), promotion, and a corrupted
environment repository: all read from the environment repository alone."""

from __future__ import annotations

import json

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT, EXIT_USAGE
from tests.gitops.pipeline.conftest import App

PROD = "clusters/prod/shop/"
RECORD = ".deploysafe/releases/prod.json"


def release(app: App, replicas: int, message: str = "hello from prod") -> str:
    """Commit a values change and deploy it; the source commit."""
    app.write("values-prod.yaml", f"replicas: {replicas}\nmessage: {message}\n")
    head = app.commit(f"{replicas} replicas")
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    return head


def folder(app: App, ref: str = "main") -> dict[str, str]:
    return {p: app.env_show(p, ref) for p in app.env_files(ref, PROD)}


def test_history_and_diff(app: App) -> None:
    c1 = release(app, 3)
    c2 = release(app, 4)
    result = app.cli("history", "prod", "--format", "json")
    assert result.exit_code == EXIT_CLEAN
    rows = json.loads(result.output)
    assert [(r["release"], r["action"], r["source_commit"], r["signed"]) for r in rows] == [
        ("prod-2", "deploy", c2, True),
        ("prod-1", "deploy", c1, True),
    ]
    assert [r["env_commit"] for r in rows] == [
        app.env_git("rev-parse", "main"),
        app.env_git("rev-parse", "main~1"),
    ]
    assert rows[0]["digest"] == app.record()["rendered"]["digest"]
    text = app.cli("history", "prod").output.splitlines()
    assert text[0] == f"prod: 2 release(s) in {app.env_repo} main:clusters/prod/shop"
    assert text[1].startswith("  prod-2     ")
    assert f"deploy               source {c2[:12]}  by tester  signed" in text[1]

    diff = app.cli("diff", "prod")
    assert diff.exit_code == EXIT_CLEAN
    assert diff.output.splitlines() == [
        f"prod-2 (deploy, source {c2[:12]}): 1 changed, 0 added, 0 removed",
        "  ~ Deployment shop/shop-web (changed)",
        "      @@ -7,5 +7,5 @@",
        "         namespace: shop",
        "       spec:",
        "      -  replicas: 3",
        "      +  replicas: 4",
        "         selector:",
        "           matchLabels:",
    ]
    first = app.cli("diff", "prod", "1", "--format", "json")
    doc = json.loads(first.output)
    assert doc["release"] == "prod-1"
    assert [(c["action"], c["kind"], c["namespace"], c["name"]) for c in doc["changes"]] == [
        ("added", "ConfigMap", "shop", "shop-web"),
        ("added", "Service", "shop", "shop-web"),
        ("added", "ServiceAccount", "shop", "shop-web"),
        ("added", "Deployment", "shop", "shop-web"),
        ("added", "NetworkPolicy", "shop", "shop-web"),
    ]
    assert app.cli("diff", "prod", "staging-1").exit_code == EXIT_USAGE
    missing = app.cli("diff", "prod", "9")
    assert (missing.exit_code, missing.output) == (
        EXIT_FINDINGS,
        "refused: prod has no release prod-9\n",
    )


def test_secret_values_are_masked_in_diffs(app: App) -> None:
    app.write(
        "chart/templates/secret.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ntype: Opaque\n"
        "stringData: {password: '{{ .Values.password }}'}\n",
    )
    app.write("values-prod.yaml", "replicas: 3\npassword: one-two-three\n")
    app.commit("secret")
    # A plain Secret fails the secrets policy (DS310): suppress it for this test.
    app.write(
        "deploysafe.yaml",
        app.root.joinpath("deploysafe.yaml").read_text()
        + "exceptions:\n- {rule: DS310, reason: test of masking}\n"
        + "- {rule: DS302, reason: test of masking}\n",
    )
    app.commit("exception")
    assert app.cli("deploy", "--trust-on-first-use", "prod").exit_code == EXIT_CLEAN
    app.write("values-prod.yaml", "replicas: 3\npassword: four-five-six\n")
    app.commit("rotate")
    plan = app.cli("deploy", "--trust-on-first-use", "prod", "--plan")
    assert plan.exit_code == EXIT_CLEAN, plan.output
    assert "  ~ Secret shop/db (changed)" in plan.output
    assert "one-two-three" not in plan.output and "four-five-six" not in plan.output
    assert "      -  password: <masked> sha256:" in plan.output


def test_rollback_marks_bad_and_roll_forward(app: App) -> None:
    c1 = release(app, 3)
    files_1 = folder(app)
    release(app, 4)
    back = app.cli("rollback", "prod", "--reason", "checkout errors")
    assert back.exit_code == EXIT_CLEAN, back.output
    assert "  to release prod-1 (manifests of prod-1)" in back.output
    assert [
        ln.split()[0] for ln in back.output.splitlines() if ln.startswith("  ") and " ok " in ln
    ] == [
        "render",
        "scan",
        "tenant",
        "release",
    ]
    assert folder(app) == files_1
    rec = app.record()
    assert (rec["release"], rec["action"], rec["manifests_from"]) == (
        "prod-3",
        "rollback",
        "prod-1",
    )
    assert rec["rollback"] == {"from": "prod-2", "to": "prod-1"}
    assert rec["marked_bad"] == [{"release": "prod-2", "reason": "checkout errors"}]
    assert rec["source"]["commit"] == c1  # the code that runs again

    # The release rolled back from cannot come back.
    again = app.cli("rollback", "prod", "--to", "prod-2")
    assert again.exit_code == EXIT_FINDINGS
    assert again.output == (
        "refused: release prod-2 was marked bad (checkout errors); refusing to roll back to it\n"
    )
    same = app.cli("rollback", "prod", "--to", "1")
    assert (
        same.output == "refused: prod already runs the manifests of prod-1; nothing to roll back\n"
    )

    # Roll forward: a fixed commit deploys on top of the rollback.
    c4 = release(app, 5)
    assert app.record()["release"] == "prod-4"
    history = json.loads(app.cli("history", "prod", "--format", "json").output)
    assert [(r["release"], r["action"], r["manifests_from"], r["bad"]) for r in history] == [
        ("prod-4", "deploy", "prod-4", None),
        ("prod-3", "rollback", "prod-1", None),
        ("prod-2", "deploy", "prod-2", "checkout errors"),
        ("prod-1", "deploy", "prod-1", None),
    ]
    assert history[0]["source_commit"] == c4
    text = app.cli("history", "prod").output
    assert "rollback to prod-1" in text and "BAD: checkout errors" in text

    # The next rollback skips the rollback record and the bad release: prod-1 again.
    back2 = app.cli("rollback", "prod")
    assert back2.exit_code == EXIT_CLEAN, back2.output
    rec = app.record()
    assert (rec["release"], rec["manifests_from"], rec["rollback"]) == (
        "prod-5",
        "prod-1",
        {"from": "prod-4", "to": "prod-1"},
    )
    assert folder(app) == files_1


def test_rollback_with_nothing_earlier(app: App) -> None:
    nothing = app.cli("rollback", "prod")
    assert (nothing.exit_code, nothing.output) == (
        EXIT_FINDINGS,
        "refused: prod has no release to roll back\n",
    )
    release(app, 3)
    only = app.cli("rollback", "prod")
    assert only.output == "refused: prod has no earlier good release to roll back to\n"


def test_promote_releases_exactly_what_passed(app: App) -> None:
    staging = app.environment("staging")
    staging["render"] = {
        "helm": {"chart": "chart", "values": ["values-prod.yaml"], "namespace": "shop"}
    }
    app.configure({"staging": staging, "prod": app.environment()})
    head = app.commit("two environments")
    assert app.cli("deploy", "--trust-on-first-use", "staging").exit_code == EXIT_CLEAN
    staged = {
        p.removeprefix("clusters/staging/shop/"): app.env_show(p)
        for p in app.env_files(prefix="clusters/staging/shop/")
    }
    # A change lands on main after staging was released: promotion ignores it.
    app.write("values-prod.yaml", "replicas: 7\n")
    app.commit("not yet staged")
    wrong = app.cli("promote", "--trust-on-first-use", "staging", "prod")
    assert wrong.exit_code == EXIT_FINDINGS
    assert f"built from {head[:12]}" in wrong.output
    assert app.env_files(prefix=PROD) == []

    app.git("checkout", "-q", head)
    app.git("branch", "-f", "main", head)
    app.git("checkout", "-q", "main")
    result = app.cli("promote", "--trust-on-first-use", "staging", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert "  from staging release staging-1 (sha256:" in result.output
    promoted = {p.removeprefix(PROD): app.env_show(p) for p in app.env_files(prefix=PROD)}
    assert promoted == staged
    rec = app.record()
    staging_rec = app.record("staging")
    assert rec["action"] == "promote"
    assert rec["promoted_from"] == {
        "environment": "staging",
        "release": "staging-1",
        "digest": staging_rec["rendered"]["digest"],
        "env_commit": app.env_git("rev-parse", "main~1"),
    }
    assert rec["rendered"]["digest"] == staging_rec["rendered"]["digest"]
    assert rec["source"]["commit"] == head
    assert [t["name"] for t in rec["tests"]] == ["unit", "smoke"]


def test_corrupted_record(app: App) -> None:
    release(app, 3)
    bad = app.env_edit({RECORD: '{"schema": 1, "release": '}, "broken record")
    for args in (("deploy", "prod"), ("history", "prod"), ("rollback", "prod")):
        result = app.cli(*args)
        assert result.exit_code == EXIT_INPUT, args
        assert result.output == (
            f"error: {app.env_repo} (branch main): {RECORD} at commit {bad[:12]}: "
            "not valid JSON (line 1: Expecting value)\n"
        )


def test_deeply_nested_record_is_an_input_error(app: App) -> None:
    release(app, 3)
    bad = app.env_edit({RECORD: '{"schema": 1, "x": ' + "[" * 100_000 + "]" * 100_000 + "}"})
    result = app.cli("history", "prod")
    assert result.exit_code == EXIT_INPUT
    assert result.output == (
        f"error: {app.env_repo} (branch main): {RECORD} at commit {bad[:12]}: "
        "JSON nested too deeply to read\n"
    )


def test_record_of_another_environment(app: App) -> None:
    release(app, 3)
    rec = app.record()
    rec["environment"] = "staging"
    app.env_edit({RECORD: json.dumps(rec)})
    result = app.cli("history", "prod")
    assert result.exit_code == EXIT_INPUT
    assert "records environment 'staging', not 'prod'" in result.output


def test_folder_changed_outside_deploysafe(app: App) -> None:
    release(app, 3)
    hand = app.env_edit({PROD + "shop/configmap-shop-web.yaml": "kind: ConfigMap\n"}, "hotfix")
    history = app.cli("history", "prod").output.splitlines()
    assert history[1].startswith(f"  {hand[:12]}  ")
    assert history[1].endswith("changed clusters/prod/shop outside deploysafe: hotfix")
    # A deploy says so, and its release puts the gate's version back.
    result = app.cli("deploy", "--trust-on-first-use", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (
        f"  note: clusters/prod/shop at {hand[:12]} differs from release prod-1's record: it was "
        "changed outside deploysafe"
    ) in result.output
    assert "  ~ ConfigMap shop/shop-web (changed)" not in result.output  # unparsable: replaced
    assert app.env_show(PROD + "shop/configmap-shop-web.yaml") != "kind: ConfigMap\n"


def test_rollback_refuses_a_tampered_release(app: App) -> None:
    release(app, 3)
    rec = app.record()
    rec.update(release="prod-2", number=2)
    app.env_edit(
        {RECORD: json.dumps(rec), PROD + "shop/configmap-shop-web.yaml": "kind: ConfigMap\n"},
        "forged release",
    )
    release(app, 4)
    result = app.cli("rollback", "prod", "--to", "prod-2")
    assert result.exit_code == EXIT_INPUT
    assert "the files of release prod-2" in result.output
    assert "do not match its record's digest" in result.output


def test_names_from_the_repository_cannot_drive_the_terminal(app: App) -> None:
    """A chart that names a ConfigMap with an escape sequence (clear the screen) and a
    bidi override: deploy, history and diff show them escaped, on their own line."""
    release(app, 3)
    app.write(
        "chart/templates/extra.yaml",
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "x\\e[2J\\u202eevil"\n'
        "  namespace: shop\ndata: {a: b}\n",
    )
    app.commit("an extra ConfigMap")
    outputs = [
        app.cli("deploy", "prod").output,
        app.cli("history", "prod").output,
        app.cli("diff", "prod").output,
    ]
    for out in outputs:
        assert "\x1b" not in out
        assert "\u202e" not in out
    assert "  + ConfigMap shop/x\\x1b[2J\\u202eevil (added)" in outputs[2].splitlines()
