"""Dockerfile defaults (DS597 floating FROM, DS598 root user): exact lines and messages."""

from __future__ import annotations

import pytest

from deploysafe.config import Config
from deploysafe.engine import check_documents, sources
from deploysafe.model import Target
from deploysafe.rules.defaults._dockerfile import substitute


def found(text: str, rule_id: str) -> list[tuple[int, str]]:
    loaded = sources.load(text, "Dockerfile", {Target.DOCKERFILE})
    assert not loaded.errors
    report = check_documents(loaded.documents, Config())
    return [(f.line, f.message) for f in report.findings if f.rule_id == rule_id]


def lines(text: str, rule_id: str) -> list[int]:
    return [line for line, _ in found(text, rule_id)]


def test_from_without_tag_and_latest_every_stage() -> None:
    text = """\
FROM golang AS build
RUN go build -o /app .
FROM gcr.io/distroless/static:latest
COPY --from=build /app /app
USER 65532
"""
    assert found(text, "DS597") == [
        (
            1,
            "stage 'build' is built FROM golang, which has no tag, so it means 'latest': each "
            "build may get a different image; pin a version tag, or better a digest",
        ),
        (
            3,
            "stage 1 is built FROM gcr.io/distroless/static:latest, which uses the tag "
            "'latest': each build may get a different image; pin a version tag, or better a "
            "digest",
        ),
    ]


def test_from_pinned_scratch_stage_and_registry_port_are_fine() -> None:
    text = """\
FROM --platform=$BUILDPLATFORM registry.local:5000/golang:1.22 AS build
FROM build AS test
FROM scratch
FROM alpine@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
USER 1000
"""
    assert found(text, "DS597") == []


def test_from_build_arguments() -> None:
    text = """\
ARG BASE=node
ARG VERSION=22
ARG TAG
FROM ${BASE}:${VERSION}-alpine
FROM $BASE
FROM node:${TAG}
FROM node:${TAG:-latest}
USER node
"""
    assert [(n, m.split(", which")[0]) for n, m in found(text, "DS597")] == [
        (5, "stage 1 is built FROM $BASE (node)"),
        (7, "stage 3 is built FROM node:${TAG:-latest} (node:latest)"),
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("node:${V}", "node:20"),
        ("node:$V", "node:20"),
        ("node:${MISSING:-18}", "node:18"),
        ("node${V:+-slim}", "node-slim"),
        ("node:${MISSING}", None),
    ],
)
def test_substitute(text: str, expected: str | None) -> None:
    assert substitute(text, {"V": "20"}) == expected


def test_root_user_missing_explicit_and_inherited() -> None:
    no_user = 'FROM python:3.12-slim\nCMD ["python"]\n'
    assert found(no_user, "DS598") == [
        (
            1,
            "the final stage sets no USER: it runs as the user of python:3.12-slim, root "
            "unless that image sets one; add USER <non-root uid> before CMD",
        )
    ]
    explicit = "FROM python:3.12-slim\nUSER app\nRUN pip install x\nUSER 0:0\n"
    assert found(explicit, "DS598") == [
        (
            4,
            "the image runs as root (USER 0:0): a process that is exploited gets root in the "
            "container; end with USER <non-root uid>",
        )
    ]
    assert lines("FROM alpine:3.20\nUSER root\nRUN apk add x\nUSER 10001\n", "DS598") == []


def test_root_user_only_the_final_stage_and_the_stages_it_builds_on() -> None:
    text = """\
FROM python:3.12-slim AS base
USER 10001
FROM base AS app
COPY app.py /app/
FROM python:3.12-slim AS tools
USER root
"""
    assert lines(text, "DS598") == [6]
    chained = "FROM python:3.12-slim AS base\nUSER 10001\nFROM base\nCOPY . /app\n"
    assert lines(chained, "DS598") == []


def test_root_user_scratch_nonroot_images_and_build_arguments() -> None:
    assert [m for _, m in found("FROM scratch\nCOPY app /app\n", "DS598")] == [
        "the final stage sets no USER: FROM scratch has no user, so it runs as UID 0; add "
        "USER <non-root uid> before CMD"
    ]
    assert lines("FROM gcr.io/distroless/static:nonroot\nCOPY app /\n", "DS598") == []
    assert lines("FROM alpine:3.20\nARG UID\nUSER ${UID}\n", "DS598") == []
    assert lines("FROM alpine:3.20\nARG UID=0\nUSER ${UID}\n", "DS598") == [3]
    assert lines("FROM alpine:3.20\nENV APP_USER=root\nUSER $APP_USER\n", "DS598") == [3]
