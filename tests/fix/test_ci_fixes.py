"""The CI fixes on real-world style workflows: template injection moved into `env:`, the
script's block style, quoting and comments kept, only the lines the fix owns changed, and a
second run changes nothing."""

from __future__ import annotations

from pathlib import Path

from deploysafe.fix import Plan, Selection, Status, plan
from deploysafe.model import Severity
from deploysafe.rules import BY_ID
from tests.support.scantools import scan_tree, write_tree

WORKFLOW = ".github/workflows/triage.yml"


def _plan(
    root: Path, rule_id: str, text: str, *, name: str = WORKFLOW, unsafe: bool = True
) -> Plan:
    write_tree(root, {name: text})
    selection = Selection(Severity.LOW, select=frozenset({rule_id}), unsafe=unsafe)
    return plan(scan_tree(root).findings, BY_ID, root, selection)


def _after(root: Path, rule_id: str, text: str, **kw: object) -> str:
    p = _plan(root, rule_id, text, **kw)  # type: ignore[arg-type]
    assert p.changes, [o.reason for o in p.outcomes]
    assert {o.status for o in p.outcomes} == {Status.FIXED}, [o.reason for o in p.outcomes]
    return p.changes[0].after


def _outcomes(p: Plan) -> list[tuple[int, Status, str]]:
    return [(o.finding.line, o.status, o.reason) for o in p.outcomes]


def _settled(root: Path, rule_id: str, text: str, name: str = WORKFLOW) -> None:
    again = _plan(root, rule_id, text, name=name)
    assert (again.changes, again.outcomes) == ((), ())


TRIAGE = """\
# Label new issues and greet their authors.
name: triage
on:
  issues:
    types: [opened]
  pull_request_target:
permissions: {}

jobs:
  triage:
    runs-on: ubuntu-latest
    env: {TRIAGE_LABEL: needs-triage}
    steps:
      # Said once, in the log.
      - name: greet
        run: |
          # the title, as typed
          echo "Title: ${{ github.event.issue.title }}"
          echo "Again: ${{ github.event.issue.title }}"   # the same value, the same variable
          echo "By ${{ github.actor }} in ${{ github.repository }}"
      - name: label
        run: >-
          gh issue edit "${{ github.event.issue.number }}"
          --add-label "${{ env.TRIAGE_LABEL }}"
          --body "${{ github.event.issue.body }}"
        env: {GH_TOKEN: "${{ github.token }}"}
      - name: branch
        run: 'echo "${{ github.head_ref }}" > branch.txt'
"""


def test_each_script_gets_variables_and_keeps_its_style(tmp_path: Path) -> None:
    after = _after(tmp_path / "one", "DS102", TRIAGE)
    want = (
        TRIAGE.replace(
            '          echo "Title: ${{ github.event.issue.title }}"\n'
            '          echo "Again: ${{ github.event.issue.title }}"',
            '          echo "Title: ${ISSUE_TITLE}"\n          echo "Again: ${ISSUE_TITLE}"',
        )
        .replace(
            '          echo "By ${{ github.actor }} in ${{ github.repository }}"\n',
            '          echo "By ${{ github.actor }} in ${{ github.repository }}"\n'
            "        env:\n"
            "          ISSUE_TITLE: ${{ github.event.issue.title }}\n",
        )
        .replace(
            '--body "${{ github.event.issue.body }}"\n'
            '        env: {GH_TOKEN: "${{ github.token }}"}',
            '--body "${ISSUE_BODY}"\n'
            '        env: {GH_TOKEN: "${{ github.token }}", ISSUE_BODY: '
            "'${{ github.event.issue.body }}'}",
        )
        .replace(
            "run: 'echo \"${{ github.head_ref }}\" > branch.txt'",
            "run: 'echo \"${HEAD_REF}\" > branch.txt'\n        env:\n"
            "          HEAD_REF: ${{ github.head_ref }}",
        )
    )
    assert after == want
    _settled(tmp_path / "two", "DS102", after)


def test_unquoted_and_single_quoted_expressions_are_unsafe(tmp_path: Path) -> None:
    text = """\
on: pull_request_target
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - run: |
          git checkout ${{ github.head_ref }}
          echo 'branch: ${{ github.head_ref }}'
"""
    safe = _plan(tmp_path / "safe", "DS102", text, unsafe=False)
    assert safe.changes == ()
    assert [o.status for o in safe.outcomes] == [Status.UNSAFE]
    after = _after(tmp_path / "unsafe", "DS102", text)
    assert after == text.replace(
        "git checkout ${{ github.head_ref }}", "git checkout ${HEAD_REF}"
    ).replace(
        "echo 'branch: ${{ github.head_ref }}'\n",
        "echo 'branch: '\"${HEAD_REF}\"''\n"
        "        env:\n          HEAD_REF: ${{ github.head_ref }}\n",
    )
    _settled(tmp_path / "again", "DS102", after)


def test_powershell_reads_env_and_other_shells_are_manual(tmp_path: Path) -> None:
    text = """\
on: issues
permissions: {}
jobs:
  win:
    runs-on: windows-latest
    steps:
      - run: Write-Output "Title ${{ github.event.issue.title }}_x"
      - run: print("${{ github.event.issue.title }}")
        shell: python
  matrix:
    runs-on: ${{ matrix.os }}
    strategy: {matrix: {os: [ubuntu-latest, windows-latest]}}
    steps:
      - run: echo "${{ github.event.issue.body }}"
"""
    p = _plan(tmp_path, "DS102", text)
    assert [c.after for c in p.changes] == [
        text.replace(
            'Write-Output "Title ${{ github.event.issue.title }}_x"\n',
            'Write-Output "Title ${env:ISSUE_TITLE}_x"\n'
            "        env:\n          ISSUE_TITLE: ${{ github.event.issue.title }}\n",
        )
    ]
    assert sorted((line, status.value) for line, status, _ in _outcomes(p)) == [
        (7, "fixed"),
        (8, "manual"),
        (14, "manual"),
    ]


def test_names_do_not_shadow_the_jobs_variables(tmp_path: Path) -> None:
    text = """\
on: pull_request_target
permissions: {}
env:
  HEAD_REF: main
jobs:
  build:
    runs-on: ubuntu-latest
    env: {TITLE: "${{ github.event.pull_request.title }}"}
    steps:
      - run: >-
          echo "${{ github.head_ref }} ${{ env.TITLE }}
          ${{ github.event.pull_request.head.ref }}"
        env:
          HEAD_REF_2: taken
"""
    after = _after(tmp_path / "one", "DS102", text)
    assert after == text.replace(
        'echo "${{ github.head_ref }} ${{ env.TITLE }}\n'
        '          ${{ github.event.pull_request.head.ref }}"',
        'echo "${HEAD_REF_3} ${TITLE}\n          ${HEAD_REF_4}"',
    ).replace(
        "          HEAD_REF_2: taken\n",
        "          HEAD_REF_2: taken\n"
        "          HEAD_REF_3: ${{ github.head_ref }}\n"
        "          HEAD_REF_4: ${{ github.event.pull_request.head.ref }}\n",
    )
    _settled(tmp_path / "two", "DS102", after)


def test_crlf_and_bom_are_kept(tmp_path: Path) -> None:
    text = (
        "on: issues\npermissions: {}\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
        '      - run: echo "${{ github.event.issue.title }}"\n'
    )
    crlf = "\ufeff" + text.replace("\n", "\r\n")
    root = tmp_path / "crlf"
    (root / ".github/workflows").mkdir(parents=True)
    (root / WORKFLOW).write_bytes(crlf.encode("utf-8"))
    selection = Selection(Severity.LOW, select=frozenset({"DS102"}), unsafe=False)
    p = plan(scan_tree(root).findings, BY_ID, root, selection)
    want = (
        text.replace('"${{ github.event.issue.title }}"\n', '"${ISSUE_TITLE}"\n')
        + "        env:\n          ISSUE_TITLE: ${{ github.event.issue.title }}\n"
    )
    assert [c.after for c in p.changes] == ["\ufeff" + want.replace("\n", "\r\n")]


UPLOADS = """\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {fetch-depth: 0}  # tags for the version
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with:
          path: docs
      - run: make
      - uses: actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2
        with: {path: ., include-hidden-files: true}
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: make && git push origin HEAD:refs/tags/v1
      - uses: actions/upload-artifact@v4.3.0
        with: {path: .}
"""


def test_checkout_stops_persisting_credentials_unless_the_job_pushes(tmp_path: Path) -> None:
    p = _plan(tmp_path / "one", "DS111", UPLOADS)
    after = (
        UPLOADS.replace(
            "with: {fetch-depth: 0}  # tags",
            "with: {fetch-depth: 0, persist-credentials: false}  # tags",
        )
        .replace(
            "          path: docs\n", "          path: docs\n          persist-credentials: false\n"
        )
        .replace(
            "      - uses: actions/checkout@v4\n",
            "      - uses: actions/checkout@v4\n"
            "        with:\n          persist-credentials: false\n",
        )
    )
    assert [c.after for c in p.changes] == [after]
    assert sorted(_outcomes(p)) == [
        (7, Status.FIXED, "set persist-credentials: false on the checkout"),
        (9, Status.FIXED, "set persist-credentials: false on the checkout"),
        (
            18,
            Status.FIXED,
            "set persist-credentials: false on the checkout; step 2 runs `git push`, "
            "which then needs its own credentials (unsafe)",
        ),
    ]
    _settled(tmp_path / "two", "DS111", after)
    safe_only = _plan(tmp_path / "three", "DS111", UPLOADS, unsafe=False)
    assert [o.status for o in safe_only.outcomes].count(Status.UNSAFE) == 1


PERMISSIONS = """\
name: ci
on:
  pull_request:

# Jobs below.
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make test
  pages:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/deploy-pages@d6db90164ac5ed86f2b6aed7e0febac5b3c0c03e # v4.0.5
  lint:
    runs-on: ubuntu-latest
    steps:
      - uses: acme/lint-action@0123456789abcdef0123456789abcdef01234567 # v1
  tidy:
    runs-on: ubuntu-latest
    steps:
      - run: echo tidy
"""


def test_permissions_are_added_at_the_top_and_granted_per_job(tmp_path: Path) -> None:
    unsafe_only = _plan(tmp_path / "safe", "DS104", PERMISSIONS, unsafe=False)
    assert unsafe_only.changes == ()
    assert {o.status for o in unsafe_only.outcomes} == {Status.UNSAFE}
    p = _plan(tmp_path / "one", "DS104", PERMISSIONS)
    after = (
        # Before the comment and blank line that lead to `jobs:`, which stay with it.
        PERMISSIONS.replace("  pull_request:\n", "  pull_request:\npermissions: {}\n")
        .replace(
            "  test:\n    runs-on: ubuntu-latest\n",
            "  test:\n    runs-on: ubuntu-latest\n    permissions: {contents: read}\n",
        )
        .replace(
            "  pages:\n    runs-on: ubuntu-latest\n",
            "  pages:\n    runs-on: ubuntu-latest\n"
            "    permissions: {id-token: write, pages: write}\n",
        )
        .replace(
            "  lint:\n    runs-on: ubuntu-latest\n",
            "  lint:\n    runs-on: ubuntu-latest\n    permissions: {contents: read}\n",
        )
    )
    assert [c.after for c in p.changes] == [after]
    assert {o.reason for o in p.outcomes} == {
        "add `permissions: {}` to the workflow; job 'test' `{contents: read}`; job 'pages' "
        "`{id-token: write, pages: write}`; job 'lint' `{contents: read}` (step 1: needs not "
        "known) (unsafe)"
    }
    _settled(tmp_path / "two", "DS104", after)


def test_broad_and_one_job_grants(tmp_path: Path) -> None:
    job_wide = """\
on: push
permissions: {contents: read}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions: write-all  # for the release
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
      - run: make && git push origin v1
"""
    after = _after(tmp_path / "one", "DS105", job_wide)
    assert after == job_wide.replace(
        "permissions: write-all  # for the release",
        "permissions: {contents: write}  # for the release",
    )
    one_job = """\
on: push
permissions:
  contents: write
  packages: write
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - run: make release
"""
    p = _plan(tmp_path / "two", "DS105", one_job, unsafe=False)
    assert [c.after for c in p.changes] == [
        "on: push\npermissions: {}\njobs:\n  release:\n    runs-on: ubuntu-latest\n"
        "    permissions: {contents: write, packages: write}\n"
        "    steps:\n      - run: make release\n"
    ]
    # Comments on the scopes cannot ride along in a `{...}` line: a human looks first.
    commented = one_job.replace("packages: write", "packages: write  # to push the image")
    p = _plan(tmp_path / "commented", "DS105", commented, unsafe=False)
    assert p.changes == ()
    assert {o.status for o in p.outcomes} == {Status.UNSAFE}
    shared = one_job + "  docs:\n    runs-on: ubuntu-latest\n    steps:\n      - run: make docs\n"
    p = _plan(tmp_path / "three", "DS105", shared)
    assert p.changes == ()
    assert {o.status for o in p.outcomes} == {Status.MANUAL}


SWALLOWED = """\
on: push
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    continue-on-error: true  # flaky on Mondays
    steps:
      - run: |
          npm ci
          npm test || true   # see the issue
          pytest -q; exit 0
      - run: "go test ./... || echo 'tests failed'"
      - run: |
          set +e
          make test
"""


def test_swallowed_test_failures_are_removed_and_set_plus_e_is_manual(tmp_path: Path) -> None:
    p = _plan(tmp_path / "one", "DS603", SWALLOWED)
    after = (
        SWALLOWED.replace("    continue-on-error: true  # flaky on Mondays\n", "")
        .replace("npm test || true   # see the issue", "npm test   # see the issue")
        .replace("pytest -q; exit 0", "pytest -q")
        .replace("\"go test ./... || echo 'tests failed'\"", '"go test ./..."')
    )
    assert [c.after for c in p.changes] == [after]
    block = "remove `|| true`, `exit 0` after the test command (unsafe)"
    assert sorted(_outcomes(p)) == [
        (6, Status.FIXED, "remove continue-on-error: true (unsafe)"),
        (10, Status.FIXED, block),
        (11, Status.FIXED, block),
        (12, Status.FIXED, "remove `|| echo 'tests failed'` after the test command (unsafe)"),
        (14, Status.MANUAL, "no automatic fix for this case"),
    ]
    again = _plan(tmp_path / "two", "DS603", after)
    assert (again.changes, [o.status for o in again.outcomes]) == ((), [Status.MANUAL])


ANCHORED = """\
on: pull_request_target
permissions: {}
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - &checkout
        uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - name: title
        run: |  # shown in the log
          printf '%s\\n' "${{ github.event.pull_request.title }}"
  lint:
    runs-on: ubuntu-latest
    steps:
      - *checkout
      - run: echo "${{ github.head_ref }}"
"""


def test_anchors_and_aliases_stay(tmp_path: Path) -> None:
    after = _after(tmp_path / "one", "DS102", ANCHORED)
    assert after == ANCHORED.replace(
        '"${{ github.event.pull_request.title }}"\n',
        '"${PULL_REQUEST_TITLE}"\n'
        "        env:\n          PULL_REQUEST_TITLE: ${{ github.event.pull_request.title }}\n",
    ).replace(
        '      - run: echo "${{ github.head_ref }}"\n',
        '      - run: echo "${HEAD_REF}"\n'
        "        env:\n          HEAD_REF: ${{ github.head_ref }}\n",
    )
    _settled(tmp_path / "two", "DS102", after)


def test_env_goes_right_after_the_script_and_the_blank_line_stays_a_separator(
    tmp_path: Path,
) -> None:
    text = """\
on: pull_request_target
permissions: {}
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - name: build
        run: |
          echo "${{ github.head_ref }}"

        # the push step
      - name: push
        run: |
          echo "${{ github.head_ref }}"

  two:
    runs-on: ubuntu-latest
    steps:
      - run: |
          echo "${{ github.head_ref }}"


"""
    env = "        env:\n          HEAD_REF: ${{ github.head_ref }}\n"
    after = _after(tmp_path / "one", "DS102", text)
    assert after == text.replace(
        '          echo "${{ github.head_ref }}"\n', '          echo "${HEAD_REF}"\n' + env
    )
    _settled(tmp_path / "two", "DS102", after)


def test_a_script_indented_deeper_than_its_key_keeps_its_indent(tmp_path: Path) -> None:
    text = """\
on: pull_request_target
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    steps:
    - name: push
      run: |
          echo "${{ github.head_ref }}"
    - run: make
"""
    after = _after(tmp_path / "one", "DS102", text)
    assert after == text.replace(
        '          echo "${{ github.head_ref }}"\n',
        '          echo "${HEAD_REF}"\n      env:\n        HEAD_REF: ${{ github.head_ref }}\n',
    )
    _settled(tmp_path / "two", "DS102", after)


def test_jobs_that_indent_their_steps_differently_are_each_fixed_in_their_own_indent(
    tmp_path: Path,
) -> None:
    text = """\
on: pull_request_target
permissions: {}
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - run: make
      - name: build
        run: |
          echo "${{ github.head_ref }}"

  two:
    runs-on: ubuntu-latest
    steps:
    - name: push
      run: |
        echo "${{ github.head_ref }}"

"""
    after = _after(tmp_path / "one", "DS102", text)
    assert after == text.replace(
        '          echo "${{ github.head_ref }}"\n',
        '          echo "${HEAD_REF}"\n        env:\n          HEAD_REF: ${{ github.head_ref }}\n',
    ).replace(
        '        echo "${{ github.head_ref }}"\n',
        '        echo "${HEAD_REF}"\n      env:\n        HEAD_REF: ${{ github.head_ref }}\n',
    )
    _settled(tmp_path / "two", "DS102", after)


def test_a_key_added_after_a_script_never_lands_inside_it(tmp_path: Path) -> None:
    # The dumper indents this step's keys two further than the file does: its `env:` put
    # in the dumper's indent would read as two more lines of the script.
    text = """\
on: pull_request_target
permissions: {}
jobs:
  one:
    runs-on: ubuntu-latest
    steps:
      - run: make
      - run: make test
  two:
    runs-on: ubuntu-latest
    steps:
    - name: push
      run: |
        echo "${{ github.head_ref }}"

"""
    after = _after(tmp_path / "one", "DS102", text)
    assert after == text.replace(
        '        echo "${{ github.head_ref }}"\n',
        '        echo "${HEAD_REF}"\n      env:\n        HEAD_REF: ${{ github.head_ref }}\n',
    )
    _settled(tmp_path / "two", "DS102", after)


def test_a_block_replaced_by_a_flow_mapping_keeps_the_blank_line_after_it(tmp_path: Path) -> None:
    text = """\
on:
  workflow_run:
    workflows: [CI]
    types: [completed]

permissions:
  checks: write

jobs:
  report:
    runs-on: ubuntu-latest
    steps:
      - uses: dorny/test-reporter@3d76b34a4535afbd0600d347b09a6ee5deb3ed7f # v2.6.0
"""
    after = _after(tmp_path / "one", "DS104", text)
    assert after == text.replace("permissions:\n  checks: write\n", "permissions: {}\n").replace(
        "    runs-on: ubuntu-latest\n",
        "    runs-on: ubuntu-latest\n    permissions: {checks: write}\n",
    )
    _settled(tmp_path / "two", "DS104", after)


def test_a_key_goes_in_next_to_a_line_the_dumper_writes_otherwise(tmp_path: Path) -> None:
    # The dumper writes `[ '*' ]` as `['*']`: the new key is placed by the line after it.
    text = """\
on:
  push:
    branches: [ '*' ]

jobs:
  e2e:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683 # v4.2.2
        with: {persist-credentials: false}
      - run: make e2e
"""
    after = _after(tmp_path / "one", "DS105", text)
    assert after == text.replace(
        "    branches: [ '*' ]\n", "    branches: [ '*' ]\npermissions: {}\n"
    ).replace(
        "    runs-on: ubuntu-latest\n",
        "    runs-on: ubuntu-latest\n    permissions: {contents: read}\n",
    )
    _settled(tmp_path / "two", "DS105", after)


def test_a_stale_bot_job_gets_the_scopes_its_action_documents(tmp_path: Path) -> None:
    text = """\
on:
  schedule:
    - cron: '30 3 * * *'

jobs:
  stale:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/stale@5bef64f19d7facfb25b37b414482c7164d639639 # v9.1.0
        with:
          days-before-stale: 60
  tidy:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/stale@5bef64f19d7facfb25b37b414482c7164d639639 # v9.1.0
        with:
          delete-branch: true
"""
    after = _after(tmp_path / "one", "DS105", text, unsafe=False)
    assert after == text.replace("\n\njobs:", "\npermissions: {}\n\njobs:").replace(
        "  stale:\n    runs-on: ubuntu-latest\n",
        "  stale:\n    runs-on: ubuntu-latest\n"
        "    permissions: {issues: write, pull-requests: write}\n",
    ).replace(
        "  tidy:\n    runs-on: ubuntu-latest\n",
        "  tidy:\n    runs-on: ubuntu-latest\n"
        "    permissions: {contents: write, issues: write, pull-requests: write}\n",
    )
