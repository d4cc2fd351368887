"""CI rules on the smallest workflows that show each false positive and miss found on real
repositories: the exact (rule, line) pairs, and the message where the wording matters."""

from __future__ import annotations

from pathlib import Path

from tests.support.scantools import scan_tree, write_tree

WF = ".github/workflows/ci.yml"


def ci_findings(tmp_path: Path, files: dict[str, str]) -> list[tuple[str, int]]:
    report = scan_tree(write_tree(tmp_path, files))
    assert report.errors == ()
    return sorted((f.rule_id, f.line) for f in report.findings if f.rule_id[:3] in ("DS1", "DS6"))


def messages(tmp_path: Path, files: dict[str, str], rule: str) -> list[str]:
    report = scan_tree(write_tree(tmp_path, files))
    return [f.message for f in report.findings if f.rule_id == rule]


# ---------------------------------------------------------------- contexts


def test_ref_names_are_low_and_logins_are_not_reported(tmp_path: Path) -> None:
    wf = """\
on: pull_request_target
permissions: {}
jobs:
  greet:
    runs-on: ubuntu-latest
    steps:
      - run: echo "thanks ${{ github.event.pull_request.user.login }} / ${{ github.actor }}"
      - run: echo "ref ${{ github.ref }} ${{ github.ref_name }}"
      - run: echo "from ${{ github.head_ref }}"
"""
    assert ci_findings(tmp_path, {WF: wf}) == [
        ("DS102", 9),
        ("DS115", 8),
        ("DS115", 8),
    ]
    assert messages(tmp_path, {WF: wf}, "DS115") == [
        "job 'greet' step 2: `github.ref` is a ref name, which may hold shell syntax, expanded "
        "into the `run:` script",
        "job 'greet' step 2: `github.ref_name` is a ref name, which may hold shell syntax, "
        "expanded into the `run:` script",
    ]


# ---------------------------------------------------------------- pinning


_UNPINNED_STEPS = """\
      - uses: actions/checkout@v4
      - uses: github/codeql-action/init@v3
      - uses: docker/login-action@v3
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683
"""


def test_one_pinning_policy_for_workflows_and_actions(tmp_path: Path) -> None:
    """GitHub's own actions by tag: low in both; others by tag: high in both."""
    files = {
        WF: "on: push\npermissions: {}\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        "    steps:\n" + _UNPINNED_STEPS,
        ".github/actions/setup/action.yml": "name: setup\ndescription: d\nruns:\n"
        "  using: composite\n  steps:\n"
        + _UNPINNED_STEPS.replace("      - ", "    - ").replace("\n      ", "\n    "),
    }
    report = scan_tree(write_tree(tmp_path, files))
    got = sorted(
        (f.file, f.line, f.rule_id, f.severity.label)
        for f in report.findings
        if f.rule_id[:3] == "DS1"
    )
    action = ".github/actions/setup/action.yml"
    assert got == [
        (action, 6, "DS114", "low"),
        (action, 7, "DS114", "low"),
        (action, 8, "DS108", "high"),
        (WF, 7, "DS107", "low"),
        (WF, 8, "DS107", "low"),
        (WF, 9, "DS106", "high"),
    ]


def test_slsa_generator_by_tag_is_not_reported(tmp_path: Path) -> None:
    wf = """\
on: push
permissions: {}
jobs:
  provenance:
    uses: slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@v2.1.0
  other:
    uses: slsa-framework/slsa-github-generator/.github/workflows/generator_generic_slsa3.yml@main
"""
    assert ci_findings(tmp_path, {WF: wf}) == [("DS106", 7)]


# ---------------------------------------------------------------- artipacked (DS111)

_CHECKOUT = "      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2\n"
_OLD_UPLOAD = "actions/upload-artifact@65462800fd760344b1a7b4382951275a0abb4808 # v4.3.3"
_NEW_UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2"


def _artipacked(upload: str, with_: str, checkout_with: str = "") -> str:
    return (
        "on: push\npermissions: {}\njobs:\n  build:\n    runs-on: ubuntu-latest\n    steps:\n"
        + _CHECKOUT
        + checkout_with
        + "      - run: make dist\n"
        + f"      - uses: {upload}\n        with:\n{with_}"
    )


def test_uploads_that_cannot_contain_git_are_not_artipacked(tmp_path: Path) -> None:
    cases = {
        "dist": _artipacked(_OLD_UPLOAD, "          path: dist/\n"),
        "files": _artipacked(
            _OLD_UPLOAD, "          path: |\n            a.xml\n            **/*.xml\n"
        ),
        "temp": _artipacked(_OLD_UPLOAD, "          path: ${{ runner.temp }}/out\n"),
        "hidden-excluded": _artipacked(_NEW_UPLOAD, "          path: .\n"),
        "moving-v4": _artipacked("actions/upload-artifact@v4", "          path: .\n"),
        "pages": _artipacked("actions/upload-pages-artifact@v3", "          path: .\n"),
        "other-checkout": _artipacked(
            _OLD_UPLOAD, "          path: site/\n", "        with: {path: src}\n"
        ),
    }
    for name, wf in cases.items():
        got = ci_findings(tmp_path / name, {WF: wf})
        assert [f for f in got if f[0] == "DS111"] == [], name


def test_uploads_that_can_contain_git_are_artipacked(tmp_path: Path) -> None:
    cases = {
        "workspace": _artipacked(_OLD_UPLOAD, "          path: .\n"),
        "glob": _artipacked(_OLD_UPLOAD, "          path: |\n            dist/\n            *\n"),
        "expression": _artipacked(_OLD_UPLOAD, "          path: ${{ inputs.where }}\n"),
        "hidden-included": _artipacked(
            _NEW_UPLOAD,
            "          path: ${{ github.workspace }}\n          include-hidden-files: true\n",
        ),
        "checkout-dir": _artipacked(
            _OLD_UPLOAD, "          path: src\n", "        with: {path: src}\n"
        ),
    }
    for name, wf in cases.items():
        got = ci_findings(tmp_path / name, {WF: wf})
        assert [f for f in got if f[0] == "DS111"] == [("DS111", 7)], name
    assert messages(tmp_path / "m", {WF: cases["checkout-dir"]}, "DS111") == [
        "job 'build' step 1 leaves the token in src/.git/config and step 3 uploads an "
        "artifact that can include it"
    ]


# ---------------------------------------------------------------- what counts as a deploy


def test_docs_sites_releases_and_throwaway_clusters_are_not_deploys(tmp_path: Path) -> None:
    wf = """\
on:
  release:
    types: [published]
  push:
    branches: ['*']
permissions: {}
jobs:
  docs:
    runs-on: ubuntu-latest
    environment:
      name: github-pages
    steps:
      - run: mkdocs build
      - uses: actions/upload-pages-artifact@56afc609e74202658d3ffba0e8f6dda462b719fa # v3.0.1
      - name: Deploy to GitHub Pages
        uses: actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e # v4.0.5
  profile:
    runs-on: ubuntu-latest
    environment: benchmarks
    steps:
      - run: go test -run=NONE -bench=. -cpuprofile cpu.out ./... > /dev/null
      - name: Upload profile
        run: curl -sf -T cpu.out "https://profiles.example.com/upload"
  charts:
    runs-on: ubuntu-latest
    environment: release
    steps:
      - run: helm plugin install https://github.com/chartmuseum/helm-push
      - run: helm cm-push charts/shop oci://ghcr.io/acme/charts
      - name: Push release packages
        run: for p in .cr-release-packages/*.tgz; do helm push "$p" oci://ghcr.io/acme; done
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3 # v1.12.0
      - run: kubectl apply -k clusters/staging
      - run: kubectl wait --for=condition=ready pod -l app=shop
"""
    assert ci_findings(tmp_path, {WF: wf}) == []


_SETUP = ".github/actions/setup/action.yml"


def _setup_action(condition: str) -> str:
    """A composite setup action that makes a kind cluster (on `condition`, if given)."""
    when = f"\n      if: {condition}" if condition else ""
    return f"""\
name: Setup
inputs:
  create-kind-cluster:
    default: "false"
runs:
  using: composite
  steps:
    - uses: helm/kind-action@a1b0e391336a6ee6713a0583f8c6240d70863de3 # v1.12.0{when}
"""


def _e2e_workflow(create: str | None) -> str:
    """A pull-request job that calls the setup action (with `create-kind-cluster` set to
    `create`, if given), then applies manifests."""
    given = f"\n        with:\n          create-kind-cluster: {create}" if create else ""
    return f"""\
on: pull_request
permissions: {{}}
jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - uses: ./.github/actions/setup{given}
      - run: kubectl apply -f manifests/
      - run: make test
"""


def test_a_cluster_made_by_a_local_action_is_a_throwaway_cluster(tmp_path: Path) -> None:
    condition = "${{ inputs.create-kind-cluster == 'true' }}"
    for name, action, create in (
        ("on-input", _setup_action(condition), '"true"'),
        ("always", _setup_action(""), "x"),
    ):
        files = {WF: _e2e_workflow(create), _SETUP: action}
        assert ci_findings(tmp_path / name, files) == [], name


def test_a_local_action_that_makes_no_cluster_leaves_the_deploy_judged(tmp_path: Path) -> None:
    condition = "${{ inputs.create-kind-cluster == 'true' }}"
    cases = {
        "input-off": {WF: _e2e_workflow('"false"'), _SETUP: _setup_action(condition)},
        "default-off": {WF: _e2e_workflow(None), _SETUP: _setup_action(condition)},
        "other-condition": {WF: _e2e_workflow('"true"'), _SETUP: _setup_action("github.ref")},
        "no-action": {WF: _e2e_workflow('"true"')},
        "outside": {WF: _e2e_workflow('"true"').replace("./.github", "./../x/.github")},
    }
    for name, files in cases.items():
        assert ("DS113", 4) in ci_findings(tmp_path / name, files), name


def test_deploys_still_need_their_tests(tmp_path: Path) -> None:
    wf = """\
on:
  push:
    branches: [main]
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: make test
  ship:
    runs-on: ubuntu-latest
    environment: production
    steps:
      - name: Deploy to production
        run: ./scripts/release.sh
  apply:
    runs-on: ubuntu-latest
    steps:
      - run: kind create cluster
      - run: terraform apply -auto-approve
  make:
    runs-on: ubuntu-latest
    environment: staging
    steps:
      - run: make build deploy ENV=staging
"""
    assert ci_findings(tmp_path, {WF: wf}) == [("DS601", 10), ("DS601", 16), ("DS601", 21)]


# ---------------------------------------------------------------- tests that cannot fail


def test_swallowed_on_a_later_line_and_policy_tests(tmp_path: Path) -> None:
    wf = """\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - run: |
          go test ./... \\
            -race ||
            echo "tests failed"
      - run: |
          (
            cd deploy
            conftest test k8s/ --policy policy/
          ) || true
      - run: kubeconform -strict k8s/ || true
"""
    assert ci_findings(tmp_path, {WF: wf}) == [("DS603", 9), ("DS603", 15), ("DS603", 16)]
    assert messages(tmp_path / "m", {WF: wf}, "DS603") == [
        "job 'test' step 1: `|| echo \"tests failed\"` swallows the failure of "
        '`go test ./... -race || echo "tests failed"`',
        "job 'test' step 2: `|| true` swallows the failure of "
        "`conftest test k8s/ --policy policy/`",
        "job 'test' step 3: `|| true` swallows the failure of `kubeconform -strict k8s/ || true`",
    ]


def test_gitlab_policy_and_schema_jobs_are_tests(tmp_path: Path) -> None:
    gl = """\
stages: [test, deploy]
policy:
  stage: test
  script:
    - conftest test k8s/
  allow_failure: true
schema:
  stage: test
  script:
    - kubeconform -strict k8s/ || true
deploy:
  stage: deploy
  environment: production
  script:
    - kubectl apply -f k8s/
  rules:
    - if: $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH
"""
    assert ci_findings(tmp_path, {".gitlab-ci.yml": gl}) == [("DS604", 6), ("DS604", 10)]


# ---------------------------------------------------------------- permissions


def _one_job(on: str, perms: str) -> str:
    return (
        f"on: {on}\npermissions: {perms}\njobs:\n  build:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - run: make\n"
    )


def test_workflow_grant_of_a_single_job_is_judged_as_the_jobs(tmp_path: Path) -> None:
    assert ci_findings(tmp_path / "push", {WF: _one_job("push", "write-all")}) == [("DS105", 2)]
    assert ci_findings(tmp_path / "pr", {WF: _one_job("pull_request", "write-all")}) == [
        ("DS104", 2)
    ]
    assert ci_findings(tmp_path / "prt", {WF: _one_job("pull_request_target", "read-all")}) == [
        ("DS104", 2)
    ]
    assert messages(tmp_path / "m", {WF: _one_job("push", "write-all")}, "DS105") == [
        "the workflow grants `write-all` to the token of job 'build', which declares no "
        "`permissions:` of its own"
    ]
    # A named write scope at workflow level is every later job's too: moved to the job.
    named = _one_job("push", "{contents: write, issues: read}")
    assert ci_findings(tmp_path / "named", {WF: named}) == [("DS105", 2)]
    assert messages(tmp_path / "named-m", {WF: named}, "DS105") == [
        "the workflow grants `contents: write` to every job, and job 'build' is its only "
        "one: grant it in that job's `permissions:`, so a job added later does not get it"
    ]
    pr = _one_job("pull_request", "{pull-requests: write}")
    assert ci_findings(tmp_path / "named-pr", {WF: pr}) == [("DS104", 2)]
    # The job's own block replaces the workflow's grant.
    own = _one_job("push", "write-all").replace("    runs-on:", "    permissions: {}\n    runs-on:")
    assert ci_findings(tmp_path / "own", {WF: own}) == []


# ---------------------------------------------------------------- new checks


def test_tojson_secrets(tmp_path: Path) -> None:
    wf = """\
on: push
permissions: {}
jobs:
  release:
    runs-on: ubuntu-latest
    if: ${{ toJSON(secrets) != '{}' }}
    steps:
      - run: ./release.sh
        env:
          ALL: ${{ toJSON(secrets) }}
          ONE: ${{ secrets.NPM_TOKEN }}
      - uses: ./.github/actions/publish
        with:
          secrets: "${{ toJson(secrets) }}"
"""
    assert ci_findings(tmp_path, {WF: wf}) == [("DS116", 10), ("DS116", 14)]
    assert messages(tmp_path / "m", {WF: wf}, "DS116")[0] == (
        "`jobs/release/steps/0/env/ALL` expands `toJSON(secrets)`: every secret of the "
        "repository and organisation reaches this place"
    )


def test_piped_download_in_privileged_workflows_only(tmp_path: Path) -> None:
    steps = """\
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo start
          curl -fsSL https://example.com/install.sh \\
            | sudo bash -s -- --version 1.2
      - run: wget -qO- https://example.com/x.sh | sh
"""
    prt = "on: pull_request_target\npermissions: {}\njobs:\n  label:\n" + steps
    write = "on: push\npermissions: {contents: write}\njobs:\n  release:\n" + steps
    read = "on: push\npermissions: {contents: read}\njobs:\n  build:\n" + steps
    assert ci_findings(tmp_path / "prt", {WF: prt}) == [("DS117", 9), ("DS117", 11)]
    assert ci_findings(tmp_path / "write", {WF: write}) == [
        ("DS105", 2),
        ("DS117", 9),
        ("DS117", 11),
    ]
    assert ci_findings(tmp_path / "read", {WF: read}) == []
    assert messages(tmp_path / "m", {WF: prt}, "DS117")[0] == (
        "job 'label' step 1 runs a download unchecked (`curl -fsSL https://example.com/"
        "install.sh | sudo bash -s -- --version 1.2`) and runs on pull_request_target: "
        "whoever controls that URL runs code with it"
    )


def test_gitlab_inputs_in_scripts(tmp_path: Path) -> None:
    template = """\
spec:
  inputs:
    target:
      default: staging
    tag:
    stage:
      options: [dev, prod]
    version:
      regex: ^v\\d+\\.\\d+$
    dry:
      type: boolean
      default: false
---
deploy:
  variables:
    TARGET: $[[ inputs.target ]]
  script:
    - ./deploy.sh $[[ inputs.target ]] $[[ inputs.stage ]]
    - echo "$[[ inputs.tag | expand_vars ]]" $[[ inputs.version ]] $[[ inputs.dry ]]
"""
    files = {
        ".gitlab-ci.yml": "include:\n  - local: ci/deploy.yml\n    inputs: {target: prod}\n",
        "ci/deploy.yml": template,
    }
    report = scan_tree(write_tree(tmp_path, files))
    assert sorted(
        (f.file, f.line, f.column, f.rule_id) for f in report.findings if f.rule_id == "DS122"
    ) == [("ci/deploy.yml", 18, 19, "DS122"), ("ci/deploy.yml", 19, 13, "DS122")]


def test_github_app_tokens(tmp_path: Path) -> None:
    wf = """\
on: push
permissions: {}
jobs:
  bump:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1
        with:
          app-id: ${{ vars.APP_ID }}
          private-key: ${{ secrets.APP_KEY }}
          owner: acme
      - uses: actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1
        with:
          app-id: ${{ vars.APP_ID }}
          private-key: ${{ secrets.APP_KEY }}
          owner: acme
          permission-members: read
      - uses: actions/create-github-app-token@1b10c78c7865c340bc4f6099eb2f838309f1e8c3 # v3.1.1
        with:
          app-id: ${{ vars.APP_ID }}
          private-key: ${{ secrets.APP_KEY }}
          repositories: web
          permission-contents: write
          skip-token-revoke: true
"""
    assert ci_findings(tmp_path, {WF: wf}) == [("DS118", 7), ("DS118", 11), ("DS118", 24)]


def test_github_env_writes_in_privileged_workflows(tmp_path: Path) -> None:
    steps = """\
    runs-on: ubuntu-latest
    steps:
      - run: echo "TAG=$(jq -r .tag event.json)" >> "$GITHUB_ENV"
      - run: echo DEBUG=1 >> $GITHUB_ENV
      - run: echo "$PWD/bin" | tee -a ${GITHUB_PATH}
"""
    prt = "on: workflow_run\npermissions: {}\njobs:\n  after:\n" + steps
    push = "on: push\npermissions: {}\njobs:\n  build:\n" + steps
    assert ci_findings(tmp_path / "prt", {WF: prt}) == [("DS119", 7), ("DS119", 9)]
    assert ci_findings(tmp_path / "push", {WF: push}) == []


# ---------------------------------------------------------------- cache poisoning

_NODE = "actions/setup-node@395ad3262231945c25e8478fd5baf05154b1d79f # v6.1.0"
_GO = "actions/setup-go@4dc6199c7b1a012772edbd06daecab0f50c9053c # v6.1.0"


def test_caches_restored_by_publishing_workflows(tmp_path: Path) -> None:
    steps = f"""\
    runs-on: ubuntu-latest
    steps:
      - uses: {_NODE}
      - uses: {_GO}
        with:
          cache: false
      - uses: {_GO}
        with:
          cache: ${{{{ !startsWith(github.ref, 'refs/tags/') }}}}
      - uses: actions/cache@0400d5f644dc74513175e3cd8d07132dd4860809 # v4.2.4
        with:
          path: ~/.npm
          key: npm-${{{{ hashFiles('package-lock.json') }}}}
"""
    tag = "on:\n  push:\n    tags: ['v*']\npermissions: {}\njobs:\n  release:\n" + steps
    assert ci_findings(tmp_path / "tag", {WF: tag}) == [("DS123", 9), ("DS123", 16)]
    assert messages(tmp_path / "tag-m", {WF: tag}, "DS123")[0] == (
        "job 'release' step 1: `actions/setup-node` restores its cache by default, and the "
        "workflow runs on a tag push, which publishes what it builds: a cache written by a "
        "less trusted run (any workflow on the default branch, one an injection took over) "
        "goes into the release build"
    )
    # On a branch as well, the computed switch may turn the cache on.
    both = tag.replace("    tags: ['v*']", "    branches: [release/*]\n    tags: ['v*']")
    assert ci_findings(tmp_path / "both", {WF: both}) == [
        ("DS123", 10),
        ("DS123", 14),
        ("DS123", 17),
    ]
    # A release branch alone is a test run until the job publishes something.
    branch = tag.replace("    tags: ['v*']", "    branches: [release/*]")
    assert ci_findings(tmp_path / "branch", {WF: branch}) == []
    published = branch + "      - run: cargo publish --locked\n"
    assert ci_findings(tmp_path / "published", {WF: published}) == [
        ("DS123", 9),
        ("DS123", 13),
        ("DS123", 16),
    ]
    # A test workflow publishes nothing: its caches are not reported.
    pr = "on: pull_request\npermissions: {}\njobs:\n  test:\n" + steps
    assert ci_findings(tmp_path / "pr", {WF: pr}) == []


def test_a_publishing_step_makes_the_job_a_release(tmp_path: Path) -> None:
    wf = f"""\
on: push
permissions: {{}}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: {_GO}
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: {_GO}
      - run: make dist
      - name: upload
        uses: softprops/action-gh-release@01570a1f39cb168c169c802c3bceb9e93fb10974 # v2.0.8
"""
    assert ci_findings(tmp_path, {WF: wf}) == [("DS123", 11)]
    assert messages(tmp_path / "m", {WF: wf}, "DS123") == [
        "job 'publish' step 1: `actions/setup-go` restores its cache by default, and step "
        "'upload' publishes what it builds (`softprops/action-gh-release`): a cache written "
        "by a less trusted run (any workflow on the default branch, one an injection took "
        "over) goes into the release build"
    ]
