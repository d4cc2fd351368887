"""The Dockerfile fix (DS320): a build secret declared as `ARG` becomes a BuildKit secret
mount on the RUN lines of its stage; comments, continuations, CRLF and the other stages
stay as written, and a second run changes nothing."""

from __future__ import annotations

from pathlib import Path

from deploysafe.fix import Plan, Selection, Status, plan
from deploysafe.model import Severity
from deploysafe.rules import BY_ID
from tests.support.scantools import scan_tree

MULTI = """\
# syntax=docker/dockerfile:1
FROM node:22-alpine AS deps
WORKDIR /app
ARG NPM_TOKEN
COPY package.json package-lock.json .npmrc ./
# install, then build
run npm ci && \\
    npm run build
RUN ["npm", "prune", "--omit=dev"]

FROM node:22-alpine AS docs
ARG GITHUB_TOKEN
ENV DOCS_TOKEN=$GITHUB_TOKEN
RUN make docs

FROM gcr.io/distroless/nodejs22
COPY --from=deps /app /app
"""


def _plan(root: Path, text: str, *, unsafe: bool = True, crlf: bool = False) -> Plan:
    root.mkdir(parents=True)
    data = text.replace("\n", "\r\n") if crlf else text
    (root / "Dockerfile").write_bytes(data.encode("utf-8"))
    selection = Selection(Severity.LOW, select=frozenset({"DS320"}), unsafe=unsafe)
    return plan(scan_tree(root).findings, BY_ID, root, selection)


def test_arg_becomes_a_secret_mount_on_each_run_of_its_stage(tmp_path: Path) -> None:
    p = _plan(tmp_path / "one", MULTI, crlf=True)
    mount = "--mount=type=secret,id=npm_token,env=NPM_TOKEN"
    after = (
        MULTI.replace("ARG NPM_TOKEN\n", "")
        .replace("run npm ci && \\\n", f"run {mount} npm ci && \\\n")
        .replace('RUN ["npm", "prune"', f'RUN {mount} ["npm", "prune"')
    )
    assert [c.after for c in p.changes] == [after.replace("\n", "\r\n")]
    assert sorted((o.finding.line, o.status, o.reason) for o in p.outcomes) == [
        (
            4,
            Status.FIXED,
            "remove ARG NPM_TOKEN; RUN on line(s) 7, 9 mount the secret `npm_token` as "
            "NPM_TOKEN (build with `--secret id=npm_token,env=NPM_TOKEN`) (unsafe)",
        ),
        (12, Status.MANUAL, "no automatic fix for this case"),  # an ENV reads the ARG
        (13, Status.MANUAL, "no automatic fix for this case"),  # that ENV
    ]
    again = _plan(tmp_path / "two", after)
    assert again.changes == ()
    assert {o.finding.line for o in again.outcomes} == {11, 12}


def test_the_fix_is_unsafe_and_an_old_frontend_is_left_alone(tmp_path: Path) -> None:
    p = _plan(tmp_path / "one", MULTI, unsafe=False)
    assert p.changes == ()
    assert [o.status for o in p.outcomes].count(Status.UNSAFE) == 1
    old = MULTI.replace("dockerfile:1\n", "dockerfile:1.9\n")
    p = _plan(tmp_path / "two", old)
    assert p.changes == ()
    assert {o.status for o in p.outcomes} == {Status.MANUAL}
