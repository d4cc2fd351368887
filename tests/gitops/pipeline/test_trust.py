"""Where the trust anchors come from: a commit signed by an unlisted key that adds its own
key to the checkout's policy must not pass; a change of the anchors passes only when a key
the previous anchors trust signed it; a policy on the CD host wins; release numbers never
repeat. Real gpg and ssh-keygen keys, real repositories."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS, EXIT_INPUT
from deploysafe.cli.main import main
from deploysafe.config.source import SourcePolicy
from deploysafe.gitops.anchors import on_host
from tests.gitops.pipeline.conftest import App, Keys, _gen, run

RECORD = ".deploysafe/releases/prod.json"


@dataclass(frozen=True)
class Mallory:
    fpr: str
    armored: str
    ssh_key: Path
    ssh_pub: str


@pytest.fixture(scope="session")
def mallory(keys: Keys, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mallory]:
    fpr = _gen(keys.home, "Mallory <mallory@example.com>")
    env = {**os.environ, "GNUPGHOME": str(keys.home)}
    armored = run("gpg", "--batch", "--armor", "--export", fpr, env=env)
    ssh_key = Path(str(tmp_path_factory.mktemp("mallory"))) / "id_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "mallory", "-f", ssh_key)
    yield Mallory(fpr, armored, ssh_key, ssh_key.with_suffix(".pub").read_text())


def _commit_as(app: App, fpr: str, message: str) -> str:
    app.git("add", "-A")
    app.git("commit", "-q", f"-S{fpr}", "-m", message)
    app.git("push", "-q", "origin", "HEAD:refs/heads/main")
    return app.git("rev-parse", "HEAD")


def _ssh_commit(app: App, key: Path, message: str) -> str:
    app.git("add", "-A")
    app.git(
        "-c", "gpg.format=ssh", "-c", f"user.signingkey={key}", "commit", "-q", "-S", "-m", message
    )  # fmt: skip
    app.git("push", "-q", "origin", "HEAD:refs/heads/main")
    return app.git("rev-parse", "HEAD")


def _add_key(app: App, who: Mallory) -> None:
    """What an attacker's commit does: list its own key and ship its public key."""
    doc = yaml.safe_load((app.root / "deploysafe.yaml").read_text())
    doc["environments"]["prod"]["source"]["signed_by"]["gpg"].append(who.fpr)
    (app.root / "deploysafe.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    app.write("keys/signers.asc", app.keys.armored + "\n" + who.armored)


def _verify(app: App, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["verify", str(app.root), "--env", "prod", *extra])
    return result.exit_code, result.output


def _first_release(app: App) -> None:
    result = app.cli("deploy", "prod", "--trust-on-first-use")
    assert result.exit_code == EXIT_CLEAN, result.output


def test_a_commit_cannot_authorise_its_own_key(app: App, mallory: Mallory) -> None:
    _first_release(app)
    _add_key(app, mallory)
    head = _commit_as(app, mallory.fpr, "trust me")
    result = app.cli("deploy", "prod", "--trust-on-first-use")
    assert result.exit_code == EXIT_FINDINGS, result.output
    assert (
        f"refused: stage verify failed: signature: 1 of 1 commit(s) since "
        f"{app.record()['source']['commit']} fail: {head[:12]} is signed by unknown key "
    ) in result.output
    assert app.record()["release"] == "prod-1"
    code, out = _verify(app, "--trust-on-first-use")
    assert code == EXIT_FINDINGS
    assert out.splitlines()[0] == "trust: the anchors recorded with release prod-1"
    assert out.splitlines()[-1] == f"{head[:12]} must not be deployed to prod"


def test_the_first_release_needs_trust_on_first_use(app: App) -> None:
    result = app.cli("deploy", "prod")
    assert result.exit_code == EXIT_FINDINGS
    assert (
        "refused: stage verify failed: trust: the first release: the only source policy is the "
        "checkout's own deploysafe.yaml, which the verified commit could have written itself; "
        "pass --config with a policy file on the CD host, or --trust-on-first-use to accept "
        "this checkout's policy once; nothing was committed or pushed"
    ) in result.output
    assert app.env_head() is None
    code, out = _verify(app)
    assert code == EXIT_FINDINGS
    assert out.splitlines()[0].startswith("FAIL trust: the first release: the only source")
    _first_release(app)
    assert app.record()["trust"]["from"] == "first-use"
    assert app.record()["trust"]["anchors"]["signed_by"]["gpg"] == [app.keys.fpr]


def test_a_change_signed_by_a_trusted_key_is_accepted(app: App, mallory: Mallory) -> None:
    _first_release(app)
    _add_key(app, mallory)
    app.commit("add mallory as a release signer")  # signed by the listed developer key
    result = app.cli("deploy", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert (
        "  note: the checkout changes the source policy (repos, refs or signing keys); accepted "
        "only because it passes verification against the anchors recorded with release prod-1"
    ) in result.output
    assert app.record()["trust"]["anchors"]["signed_by"]["gpg"] == [app.keys.fpr, mallory.fpr]
    # Now the new key is an anchor: its commits pass.
    app.write("values-prod.yaml", "replicas: 5\nmessage: hello\n")
    _commit_as(app, mallory.fpr, "signed by the newly trusted key")
    result = app.cli("deploy", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert app.record()["release"] == "prod-3"


def test_a_rollback_carries_the_anchors_over(app: App, mallory: Mallory) -> None:
    _first_release(app)
    app.write("values-prod.yaml", "replicas: 5\nmessage: hello\n")
    app.commit("more replicas")
    assert app.cli("deploy", "prod").exit_code == EXIT_CLEAN
    anchors = app.record()["trust"]["anchors"]
    _add_key(app, mallory)
    _commit_as(app, mallory.fpr, "trust me")
    result = app.cli("rollback", "prod")
    assert result.exit_code == EXIT_CLEAN, result.output
    assert app.record()["trust"]["anchors"] == anchors
    assert app.cli("deploy", "prod").exit_code == EXIT_FINDINGS


def test_a_policy_on_the_cd_host_wins(app: App, mallory: Mallory, tmp_path: Path) -> None:
    host = tmp_path / "cd-host"
    host.mkdir()
    (host / "signers.asc").write_text(app.keys.armored)
    doc = yaml.safe_load((app.root / "deploysafe.yaml").read_text())
    source = doc["environments"]["prod"]["source"]
    source["signed_by"]["gpg_keys"] = str(host / "signers.asc")
    render = doc["environments"]["prod"]["render"]["helm"]
    render["chart"] = str(app.root / "chart")
    render["values"] = [str(app.root / "values-prod.yaml")]
    config = host / "deploysafe.yaml"
    config.write_text(yaml.safe_dump(doc, sort_keys=False))
    result = app.cli("deploy", "prod", "--config", str(config))  # no --trust-on-first-use
    assert result.exit_code == EXIT_CLEAN, result.output
    assert app.record()["trust"]["from"] == "host"
    _add_key(app, mallory)
    head = _commit_as(app, mallory.fpr, "trust me")
    result = app.cli("deploy", "prod", "--config", str(config))
    assert result.exit_code == EXIT_FINDINGS
    assert f"{head[:12]} is signed by unknown key" in result.output
    code, out = _verify(app, "--config", str(config))
    assert code == EXIT_FINDINGS
    assert out.splitlines()[0] == f"trust: the policy file on the CD host ({config})"


def test_a_policy_above_the_deployed_folder_is_in_the_checkout(app: App) -> None:
    policy = SourcePolicy(repos=(str(app.origin),))
    top = app.root / "deploysafe.yaml"
    assert on_host(str(top), policy, app.root / "chart") is False
    assert on_host(str(app.root.parent / "deploysafe.yaml"), policy, app.root / "chart") is True


def test_ssh_allowed_signers_cannot_be_extended_by_the_commit(
    app: App, keys: Keys, mallory: Mallory
) -> None:
    app.write("keys/allowed_signers", f'dev@example.com namespaces="git" {keys.ssh_pub}')
    source = {
        "repos": [str(app.origin)],
        "refs": ["refs/heads/main"],
        "signed_by": {"ssh_allowed_signers": "keys/allowed_signers"},
    }
    app.configure({"prod": app.environment(source=source)})
    _ssh_commit(app, keys.ssh_key, "ssh signers")
    _first_release(app)
    with (app.root / "keys/allowed_signers").open("a") as fh:
        fh.write(f'mallory@example.com namespaces="git" {mallory.ssh_pub}')
    head = _ssh_commit(app, mallory.ssh_key, "trust me")
    result = app.cli("deploy", "prod", "--trust-on-first-use")
    assert result.exit_code == EXIT_FINDINGS
    assert f"{head[:12]} is signed by SSH key SHA256:" in result.output
    assert app.record()["release"] == "prod-1"


def test_a_change_is_refused_when_the_anchors_trust_no_key(app: App) -> None:
    source = {"repos": [str(app.origin)], "refs": ["refs/heads/main"]}
    app.configure({"prod": app.environment(source=source)})
    app.commit("no signatures")
    _first_release(app)
    app.configure({"prod": app.environment(source={**source, "refs": ["refs/heads/*"]})})
    app.commit("widen the refs")
    result = app.cli("deploy", "prod")
    assert result.exit_code == EXIT_FINDINGS
    assert "the anchors recorded with release prod-1 list no signing keys" in result.output


def test_a_record_rewritten_with_a_lower_number_is_refused(app: App) -> None:
    _first_release(app)
    app.write("values-prod.yaml", "replicas: 5\nmessage: hello\n")
    app.commit("more replicas")
    assert app.cli("deploy", "prod").exit_code == EXIT_CLEAN
    rec = app.record()
    before = app.env_head()
    rec.update(release="prod-1", number=1)
    hand = app.env_edit({RECORD: json.dumps(rec)}, "renumber")
    for args in (("deploy", "prod"), ("rollback", "prod")):
        result = app.cli(*args)
        assert result.exit_code == EXIT_INPUT, result.output
        assert result.output.endswith(
            f"error: {app.env_repo} (branch main): {RECORD} at commit {hand[:12]} records "
            f"release prod-1, but the record before it (commit {str(before)[:12]}) is already "
            "prod-2: the record was rewritten outside deploysafe and release numbers would "
            f"repeat. Revert commit {hand[:12]} in the environment repository, then deploy again\n"
        )
    assert app.env_head() == hand
    history = app.cli("history", "prod")
    assert history.exit_code == EXIT_CLEAN
    newest = history.output.splitlines()[1]
    assert newest.startswith("  prod-1 ")
    assert newest.endswith(
        f"env {hand[:12]}  RENUMBERED: not above the release before it (rewritten outside "
        "deploysafe)"
    )
