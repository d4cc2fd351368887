"""A CI runner's credentials in the checkout's origin URL (GitLab's
`https://gitlab-ci-token:${CI_JOB_TOKEN}@host/...`) never reach the output, the release
record or the release commit: the URL is shown and recorded without them."""

from __future__ import annotations

import json

from deploysafe.cli.exits import EXIT_CLEAN
from tests.gitops.pipeline.conftest import App
from tests.support.secretgen import expand


def test_origin_credentials_are_never_printed_or_recorded(app: App) -> None:
    source = {**app.environment()["source"], "repos": ["gitlab.example.com/acme/shop"]}
    app.configure({"prod": app.environment(source=source)})
    head = app.commit("allow the GitLab origin")
    token = expand("glpat-{url:20}")
    url = f"https://gitlab-ci-token:{token}@gitlab.example.com/acme/shop.git"
    app.git("remote", "set-url", "origin", url)

    text = app.cli("deploy", "--trust-on-first-use", "prod")
    assert text.exit_code == EXIT_CLEAN, text.output
    assert "origin https://gitlab.example.com/acme/shop.git is allowed" in text.output
    record = app.record()
    assert record["source"]["repo"] == "https://gitlab.example.com/acme/shop.git"
    message = app.env_git("log", "-1", "--format=%B", "main")
    assert f"Source: https://gitlab.example.com/acme/shop.git {head}" in message.splitlines()

    app.write("values-prod.yaml", app.root.joinpath("values-prod.yaml").read_text() + "\n")
    app.git("remote", "set-url", "origin", str(app.origin))
    app.commit("second release")
    app.git("remote", "set-url", "origin", url)
    as_json = app.cli("deploy", "prod", "--format", "json")
    assert as_json.exit_code == EXIT_CLEAN, as_json.output
    assert json.loads(as_json.stdout)["source"]["repo"] == (
        "https://gitlab.example.com/acme/shop.git"
    )

    history = app.env_git("log", "-p", "--format=%B", "main")
    for seen in (text.output, as_json.output, history):
        assert token not in seen
