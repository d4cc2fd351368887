"""One credential-name vocabulary, read the ways its users need: each reading's answers,
and the names on which the readings differ on purpose."""

from __future__ import annotations

import pytest

from deploysafe.secrets.names import (
    CI_VARIABLE_REFERENCE,
    LOGIN_NAME,
    build_arg_secret_name,
    credential_name,
    dockerfile_secret_name,
    env_password_name,
    may_name_credential,
)


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("password", True),
        ("spring.datasource.password", True),
        ("DB_PASSWD", True),
        ("dbPassword", True),
        ("kennwort", True),
        ("clientSecret", False),  # a credential, not password-like
        ("API_KEY", False),
        ("github_token", False),
        ("aws_secret_access_key", False),
        ("key", None),  # a bare key names no credential
        ("public_key", None),
        ("password_file", None),  # about the credential, not the credential
        ("secretName", None),
        ("tokenizer", None),
        ("PWD", True),
    ],
)
def test_credential_name(key: str, expected: bool | None) -> None:
    assert credential_name(key) is expected


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "DB_PW",
        "kennwort",
        "Contrasena",
        "clientSecret",
        "API_KEY",
        "master_key",
        "npm_auth",
        "refreshToken",
        "creds",
        "X_PWD",
    ],
)
def test_credential_names_pass_the_prefilter(key: str) -> None:
    assert credential_name(key) is not None
    assert may_name_credential(key)


@pytest.mark.parametrize("key", ["replicas", "image.tag", "server.port", "log_level"])
def test_prefilter_passes_by_other_names(key: str) -> None:
    assert not may_name_credential(key)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("GITHUB_TOKEN", True),
        ("NPM_AUTH", True),
        ("SSH_KEY", True),  # BuildKit: any `_KEY` segment
        ("GH_PAT", True),
        ("AWS_SECRET_ACCESS_KEY", True),
        ("db_passphrase", True),
        ("dbPassword", False),  # segments only: camelCase is not split
        ("GPG_KEYS", False),
        ("PUBLIC_KEY", False),
        ("TOKEN_URL", False),
        ("KEYRING", False),
        ("NODE_VERSION", False),
    ],
)
def test_dockerfile_secret_name(name: str, expected: bool) -> None:
    assert dockerfile_secret_name(name) is expected


def test_build_arg_secret_name_is_either_reading() -> None:
    assert build_arg_secret_name("SSH_KEY") is True  # BuildKit's
    assert build_arg_secret_name("dbPassword") is True  # the general one
    assert build_arg_secret_name("NODE_VERSION") is False


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("POSTGRES_PASSWORD", True),
        ("DBPASSWORD", True),  # substrings: no separator needed
        ("MYSQL_ROOT_PASS", True),
        ("DB_PWD", True),
        ("PWD", False),  # the shell's working folder
        ("API_KEY", True),
        ("SSH_KEY", False),
        ("SECRET_NAME", False),
        ("TOKEN_TTL", False),
        ("redis_password", True),
    ],
)
def test_env_password_name(name: str, expected: bool) -> None:
    assert env_password_name(name) is expected


def test_login_name() -> None:
    assert [n for n in ("DB_USER", "LOGIN", "SERVICE_ACCOUNT", "HOST") if LOGIN_NAME.search(n)] == [
        "DB_USER",
        "LOGIN",
        "SERVICE_ACCOUNT",
    ]


def test_ci_variable_references() -> None:
    script = (
        'curl -H "PRIVATE-TOKEN: $DEPLOY_TOKEN" https://x; echo ${KUBECONFIG}; '
        "gpg --passphrase $GPG_PASSPHRASE; echo $CI_COMMIT_SHA $HOME; login $REGISTRY_AUTH"
    )
    assert [m.group(1) for m in CI_VARIABLE_REFERENCE.finditer(script)] == [
        "DEPLOY_TOKEN",
        "KUBECONFIG",
        "GPG_PASSPHRASE",
        "REGISTRY_AUTH",
    ]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("passwordKey", None),
        ("adminPasswordKey", None),
        ("passwordSecret", None),
        ("existingSecret", None),
        ("existingSecretPasswordKey", None),
        ("update_password", None),
        ("reset_token", None),
        ("secretKey", False),
        ("apiKey", False),
        ("tokenSecret", False),
        ("keyPassword", True),
        ("new_password", True),
    ],
)
def test_names_of_references_and_options_are_not_credentials(
    key: str, expected: bool | None
) -> None:
    assert credential_name(key) is expected
