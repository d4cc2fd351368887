"""DS323: the build context copied into a shipped image, with credential files that
.dockerignore lets through. Real folders on disk, scanned through the engine and the CLI;
every credential is built at run time (tests/secretgen.py)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from deploysafe.config import Config
from deploysafe.secrets.patterns import BY_ID as TOKENS
from tests.support.policy import load as load_policy
from tests.support.scantools import invoke, scan_tree, write_tree
from tests.support.secretgen import instance

NO_IGNORE = "(there is no .dockerignore)"


def private_key() -> str:
    return instance(TOKENS["private-key"]) + "\n"


def npm_token_line() -> str:
    return instance(TOKENS["npmrc-auth"]) + "\n"


def tree(root: Path, files: dict[str, str]) -> Path:
    return write_tree(root, {name: textwrap.dedent(text) for name, text in files.items()})


def ds323(root: Path, cfg: Config | None = None) -> list[tuple[str, int, str]]:
    report = scan_tree(root, cfg)
    return [(f.file, f.line, f.message) for f in report.findings if f.rule_id == "DS323"]


APP = """\
FROM node:22-alpine
WORKDIR /app
COPY package.json ./
RUN npm ci --omit=dev
COPY . .
CMD ["node", "server.js"]
"""


def app(tmp_path: Path, extra: dict[str, str]) -> Path:
    files = {"Dockerfile": APP, "package.json": "{}\n", "server.js": "// app\n"}
    return tree(tmp_path, files | extra)


# ---------------------------------------------------------------- what it reports


def test_no_dockerignore_names_the_files_and_the_copy_line(tmp_path: Path) -> None:
    app(tmp_path, {".env": "LOG_LEVEL=debug\n", "deploy/id_ed25519": private_key()})
    assert ds323(tmp_path) == [
        (
            "Dockerfile",
            5,
            "COPY . sends credential files from the build context into the image: "
            f".env, deploy/id_ed25519 {NO_IGNORE}",
        )
    ]


def test_a_dockerignore_that_excludes_them_is_clean(tmp_path: Path) -> None:
    app(
        tmp_path,
        {
            ".env": "LOG_LEVEL=debug\n",
            "deploy/id_ed25519": private_key(),
            ".dockerignore": "# secrets stay home\n/.env\ndeploy/\n",
        },
    )
    assert ds323(tmp_path) == []


def test_a_dockerignore_that_misses_one_names_it(tmp_path: Path) -> None:
    app(
        tmp_path,
        {
            ".env": "LOG_LEVEL=debug\n",
            "deploy/tls.key": private_key(),
            ".dockerignore": ".env\n*.key\n",  # *.key is the root only, as in BuildKit
        },
    )
    assert ds323(tmp_path) == [
        (
            "Dockerfile",
            5,
            "COPY . sends credential files from the build context into the image: "
            "deploy/tls.key (.dockerignore does not exclude them)",
        )
    ]


def test_no_credential_files_no_finding_even_without_dockerignore(tmp_path: Path) -> None:
    app(tmp_path, {".env.example": "DB_PASSWORD=\n", ".env.sample": "X=\n", "README.md": "hi\n"})
    assert ds323(tmp_path) == []


def test_negation_brings_a_file_back(tmp_path: Path) -> None:
    files = {".env": "A=1\n", ".env.production": "A=2\n", "certs/server.key": private_key()}
    app(tmp_path, files | {".dockerignore": ".env*\n**/*.key\n!.env.production\n"})
    assert [m for _, _, m in ds323(tmp_path)] == [
        "COPY . sends credential files from the build context into the image: "
        ".env.production (.dockerignore does not exclude them)"
    ]


def test_allow_list_dockerignore_is_clean(tmp_path: Path) -> None:
    files = {".env": "A=1\n", "src/index.js": "//\n", "src/.npmrc": npm_token_line()}
    app(tmp_path, files | {".dockerignore": "*\n!package.json\n!server.js\n!src\nsrc/.npmrc\n"})
    assert ds323(tmp_path) == []


@pytest.mark.parametrize(
    ("copy", "shown"),
    [
        ("COPY . /app", "COPY ."),
        ("ADD . /src", "ADD ."),
        ("COPY ./ ./", "COPY ./"),
        ("COPY --chown=node:node --chmod=0644 . .", "COPY ."),
        ('COPY [".", "/app/"]', "COPY ."),
        ("COPY * /app/", "COPY *"),
        ("COPY --link . /", "COPY ."),
    ],
)
def test_forms_of_copying_the_whole_context(tmp_path: Path, copy: str, shown: str) -> None:
    tree(tmp_path, {"Dockerfile": f"FROM alpine:3.20\n{copy}\n", ".netrc": "machine x\n"})
    assert ds323(tmp_path) == [
        (
            "Dockerfile",
            2,
            f"{shown} sends credential files from the build context into the image: "
            f".netrc {NO_IGNORE}",
        )
    ]


def test_a_folder_of_the_context(tmp_path: Path) -> None:
    tree(
        tmp_path,
        {
            "Dockerfile": "FROM alpine:3.20\nCOPY config/ /etc/app/\nCOPY src ./src\n",
            "config/app.yaml": "a: 1\n",
            "config/credentials.json": "{}\n",
            "src/main.py": "print()\n",
            ".env": "A=1\n",  # in the context, but no COPY reads it
        },
    )
    assert ds323(tmp_path) == [
        (
            "Dockerfile",
            2,
            "COPY config/ sends credential files from the build context into the image: "
            f"config/credentials.json {NO_IGNORE}",
        )
    ]


def test_a_named_credential_file_is_left_to_ds321(tmp_path: Path) -> None:
    tree(tmp_path, {"Dockerfile": "FROM alpine:3.20\nCOPY .netrc /root/\n", ".netrc": "x\n"})
    report = scan_tree(tmp_path)
    assert [(f.rule_id, f.line) for f in report.findings if f.rule_id.startswith("DS32")] == [
        ("DS321", 2)
    ]


def test_copy_exclude_flag(tmp_path: Path) -> None:
    dockerfile = "# syntax=docker/dockerfile:1.7-labs\nFROM alpine:3.20\nCOPY --exclude=.env . .\n"
    tree(tmp_path, {"Dockerfile": dockerfile, ".env": "A=1\n"})
    assert ds323(tmp_path) == []


def test_at_most_three_names(tmp_path: Path) -> None:
    files = {f"keys/k{n}.key": "k\n" for n in range(5)}
    tree(tmp_path, {"Dockerfile": "FROM alpine:3.20\nCOPY . .\n"} | files)
    assert [m for _, _, m in ds323(tmp_path)] == [
        "COPY . sends credential files from the build context into the image: "
        f"keys/k0.key, keys/k1.key, keys/k2.key and 2 more {NO_IGNORE}"
    ]


# ---------------------------------------------------------------- multi-stage builds


def test_builder_stage_copies_context_final_copies_an_artifact(tmp_path: Path) -> None:
    dockerfile = """\
        FROM node:22 AS build
        WORKDIR /app
        COPY . .
        RUN npm ci && npm run build

        FROM nginx:1.27-alpine
        COPY --from=build /app/dist /usr/share/nginx/html
        """
    tree(tmp_path, {"Dockerfile": dockerfile, ".env": "A=1\n", ".npmrc": npm_token_line()})
    assert ds323(tmp_path) == []


def test_final_stage_copies_the_builders_workdir(tmp_path: Path) -> None:
    dockerfile = """\
        FROM node:22 AS build
        WORKDIR /app
        COPY . .
        RUN npm ci && npm run build

        FROM node:22-slim
        WORKDIR /srv
        COPY --from=build /app ./
        CMD ["node", "dist/server.js"]
        """
    tree(tmp_path, {"Dockerfile": dockerfile, ".env": "A=1\n", ".npmrc": npm_token_line()})
    assert ds323(tmp_path) == [
        (
            "Dockerfile",
            3,
            "COPY . sends credential files from the build context into a build stage, and "
            f"COPY --from=build on line 8 carries them into the image: .env, .npmrc {NO_IGNORE}",
        )
    ]


def test_artifact_folder_that_holds_a_context_credential(tmp_path: Path) -> None:
    dockerfile = """\
        FROM golang:1.23 AS build
        WORKDIR /src
        COPY . .
        FROM build AS test
        RUN go test ./...
        FROM gcr.io/distroless/static
        COPY --from=build /src/dist/ /app/
        COPY --from=1 /src/go.mod /app/
        """
    files = {"Dockerfile": dockerfile, "dist/service-account.json": "{}\n", ".env": "A=1\n"}
    tree(tmp_path, files)
    assert [(line, m.split(": ")[-1]) for _, line, m in ds323(tmp_path)] == [
        (3, f"dist/service-account.json {NO_IGNORE}")
    ]


def test_final_stage_built_from_the_builder_ships_its_files(tmp_path: Path) -> None:
    dockerfile = "FROM python:3.12 AS base\nCOPY . /app\nFROM base\nRUN true\n"
    tree(tmp_path, {"Dockerfile": dockerfile, ".pypirc": "[pypi]\n"})
    assert [(line, m.split(" into ")[1][:9]) for _, line, m in ds323(tmp_path)] == [
        (2, "the image")
    ]


def test_unresolvable_destination_needs_a_whole_filesystem_copy(tmp_path: Path) -> None:
    dockerfile = (
        "FROM node:22 AS build\nARG DIR=/app\nWORKDIR $DIR\nCOPY . .\n"
        "FROM scratch AS out\nCOPY --from=build /usr/bin/node /node\n"
        "FROM scratch\nCOPY --from=build / /\n"
    )
    tree(tmp_path, {"Dockerfile": dockerfile, ".env": "A=1\n"})
    assert [line for _, line, _ in ds323(tmp_path)] == [4]


# ---------------------------------------------------------------- what the walk reads


def test_names_that_need_their_content(tmp_path: Path) -> None:
    app(
        tmp_path,
        {
            ".npmrc": "save-exact=true\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
            ".yarnrc.yml": 'nodeLinker: node-modules\nnpmAuthToken: "${NPM_TOKEN}"\n',
            "certs/ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            "settings.xml": "<settings><mirrors/></settings>\n",
        },
    )
    assert ds323(tmp_path) == []
    (tmp_path / "certs" / "tls.pem").write_text(private_key(), encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".npmrc").write_text(npm_token_line(), encoding="utf-8")
    assert [m.split(": ", 1)[1] for _, _, m in ds323(tmp_path)] == [
        f"certs/tls.pem, sub/.npmrc {NO_IGNORE}"
    ]


def test_dependency_and_vcs_folders_are_not_entered(tmp_path: Path) -> None:
    app(
        tmp_path,
        {
            "node_modules/pkg/test/server.key": "k\n",
            ".git/hooks/id_rsa": "k\n",
            "env/pyvenv.cfg": "home = /usr\n",
            "env/lib/site-packages/tornado/test/test.key": "k\n",
        },
    )
    assert ds323(tmp_path) == []


def test_dockerfile_specific_ignore_file_wins(tmp_path: Path) -> None:
    files = {".env": "A=1\n", ".dockerignore": "*.md\n", "Dockerfile.dockerignore": ".env\n"}
    app(tmp_path, files)
    assert ds323(tmp_path) == []
    (tmp_path / "Dockerfile.dockerignore").unlink()
    assert [m.split("(")[1] for _, _, m in ds323(tmp_path)] == [
        ".dockerignore does not exclude them)"
    ]


# ---------------------------------------------------------------- policy and CLI


def test_secrets_exclude_applies(tmp_path: Path) -> None:
    app(tmp_path / "samples", {".env": "A=1\n"})
    (tmp_path / "deploysafe.yaml").write_text("secrets:\n  exclude: ['samples/*']\n")

    assert ds323(tmp_path, load_policy(tmp_path / "deploysafe.yaml")) == []


def test_cli_reports_and_fails(tmp_path: Path) -> None:
    app(tmp_path, {".env": "A=1\n"})
    result = invoke("scan", str(tmp_path), "--no-render", "-j", "1", "--format", "json")
    assert result.exit_code == 1
    found = [
        (f["rule_id"], f["file"], f["line"])
        for f in json.loads(result.stdout)["findings"]
        if f["rule_id"] == "DS323"
    ]
    assert found == [("DS323", "Dockerfile", 5)]
