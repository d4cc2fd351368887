"""Which names say "credential": one vocabulary, read three ways.

- `credential_name`: settings in any file (config files, env lists, ConfigMap keys). Words
  of the key, camelCase or snake_case; says whether the credential is password-like.
- `dockerfile_secret_name`: Dockerfile ARG/ENV names, read as BuildKit's
  SecretsUsedInArgOrEnv check reads them (snake_case segments; a bare `KEY` or `PAT`
  counts), so deploysafe and `docker build` warn about the same names.
  `build_arg_secret_name` is either reading: a build argument is both.
- `env_password_name` / `LOGIN_NAME`: Kubernetes env variables judged for default
  passwords (DS508): substrings of the upper-cased name, so `DBPASSWORD` counts, while
  `PWD` alone (the shell's working folder) does not.
- `CI_VARIABLE_REFERENCE`: `$NAME` references to CI/CD variables that hold a credential,
  a kubeconfig included (it carries the cluster's credentials).

The stems below are shared; each reading adds what its source of truth adds.
"""

from __future__ import annotations

import functools
import itertools
import re

PASSWORD_STEMS = ("password", "passwd", "passphrase")
SECRET_STEMS = ("secret", "token", "credential")

# A keyword somewhere in a key: the text scanner's cheap first pass; the key is then read in
# full around it (KEY_CHARS) and judged by credential_name.
NAME_KEYWORDS = ("pass", "pwd", "secret", "token", "key", "cred", "auth")
KEYWORD = re.compile(f"(?i:{'|'.join(NAME_KEYWORDS)})")
KEYWORD_LOWER = re.compile("|".join(NAME_KEYWORDS))
KEY_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
# KEY_CHARS from a position on (what `lstrip(KEY_CHARS)` strips): one call, no slices.
_KEY_TAIL = re.compile(f"[{re.escape(KEY_CHARS)}]*").match
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PASSWORD_WORDS = frozenset(
    [
        *PASSWORD_STEMS,
        "passwords",
        "pwd",
        "pass",
        "pw",
        "contrasena",
        "contraseña",
        "kennwort",
    ]
)
_SECRET_WORDS = frozenset(
    [
        *SECRET_STEMS,
        "secrets",
        "tokens",
        "credentials",
        "creds",
        "apikey",
        "accesskey",
        "secretkey",
        "privatekey",
        "authkey",
        "authtoken",
        "accesstoken",
        "refreshtoken",
        "clientsecret",
        "apitoken",
    ]
)
_KEY_QUALIFIERS = frozenset(
    [
        "api",
        "access",
        "auth",
        "private",
        "priv",
        "client",
        "service",
        "account",
        "master",
        "signing",
        "encryption",
        "db",
        "database",
        "secret",
        "app",
        "consumer",
        "license",
        "shared",
        "storage",
        "session",
        "hmac",
        "jwt",
        "webhook",
    ]
)
_NOT_LAST = frozenset(
    [
        "name",
        "names",
        "id",
        "ids",
        "url",
        "uri",
        "urls",
        "file",
        "files",
        "path",
        "paths",
        "dir",
        "type",
        "types",
        "length",
        "len",
        "size",
        "count",
        "field",
        "fields",
        "prompt",
        "label",
        "hint",
        "placeholder",
        "regex",
        "pattern",
        "policy",
        "version",
        "format",
        "mode",
        "enabled",
        "enable",
        "disabled",
        "required",
        "min",
        "max",
        "ttl",
        "timeout",
        "expiry",
        "expires",
        "expiration",
        "header",
        "headers",
        "endpoint",
        "host",
        "port",
        "algorithm",
        "alg",
        "provider",
        "store",
        "ref",
        "kind",
        "source",
        "env",
        "var",
        "variable",
        "arn",
        "prefix",
        "suffix",
        "index",
        "idx",
        "method",
        "scope",
        "scopes",
        "manager",
        "location",
        "generator",
        "validity",
        "lifetime",
        "rotation",
        "status",
        "exists",
        "set",
        "template",
        "selector",
        "mount",
        "volume",
        "usage",
        "request",
        "response",
        "error",
        "errors",
        "message",
        "msg",
        "text",
        "title",
        "description",
        "desc",
        "option",
        "options",
        "param",
        "params",
        "config",
        "settings",
        "setting",
        "class",
        "handler",
        "helper",
        "service",
        "util",
        "utils",
        "factory",
        "reset",
        "change",
        "changed",
        "update",
        "updated",
        "check",
        "checked",
        "input",
        "output",
        "hash",
        "salt",
        "strength",
        "rules",
        "rule",
        "vault",
        "keyid",
        "bits",
        "encoding",
        "charset",
        "digest",
        "map",
        "mapping",
        "list",
        "dict",
        "cache",
        "secretref",
        "secretname",
        "namespace",  # `adminSecretNamespace: default`: where the Secret is, not what it holds
        "namespaces",
        "encryption",  # postgres' `password_encryption: scram-sha-256`
        "username",  # `secretRepository.Username`: whose secret, not the secret
        "user",
        "users",
        "login",
        "email",
        "secrets",  # `imagePullSecrets`, `secrets: inherit`: names of secrets, or a mode
    ]
)
_NEVER = frozenset(
    [
        "public",
        "pub",
        "csrf",
        "xsrf",
        "publishable",
        "anon",
        "nonce",
        "sample",
        "example",
        "dummy",
        "test",
        "mock",
        "fake",
        "keyboard",
        "keypress",
        "keydown",
        "keyup",
        "monkey",
        "turkey",
        "hotkey",
        "secretary",
        "tokenizer",
        "tokenize",
        "tokenized",
        "tokens",
        "checksum",  # Helm's `checksum/secret` annotation: a digest of the Secret
    ]
)


# A first word that makes the setting an option about the credential, not the credential:
# Ansible's `update_password: on_create`, `reset_password: false`, `generate_token: true`.
_OPTION_VERBS = frozenset(
    [
        "update",
        "reset",
        "change",
        "generate",
        "rotate",
        "require",
        "enforce",
        "expire",
        "prompt",
        "ask",
        "show",
        "hide",
        "remember",
        "allow",
        "skip",
        "forgot",
        "force",
    ]
)
# Last words that, after a password word, name where the password is kept: `passwordKey:
# admin-password` (the key inside a Secret), `passwordSecret: db-auth` (the Secret).
_HOLDERS = frozenset(["key", "keys", "secret"])


def key_words(key: str) -> list[str]:
    """A name's words, lowercased: camelCase, snake_case and kebab-case alike."""
    return [w.lower() for w in _WORDS.findall(key)]


def credential_name(key: str) -> bool | None:
    """None if `key` does not name a credential; else whether it is password-like.

    The general reading, for settings in any file (`spring.datasource.password`,
    `clientSecret`, `API_KEY`): the key split into words, camelCase and snake_case alike.
    A key with no credential word is passed by unsplit and uncached (a properties file's
    thousands of distinct settings)."""
    return _credential_name(key) if may_name_credential(key) else None


@functools.lru_cache(maxsize=8192)
def _credential_name(key: str) -> bool | None:
    words = key_words(key)
    # (set operations and one loop over the words, not a generator each: a scan asks
    # about thousands of distinct keys)
    if not words or words[-1] in _NOT_LAST or not _NEVER.isdisjoint(words):
        return None
    if len(words) > 1 and (words[0] in _OPTION_VERBS or words[0] == "existing"):
        return None  # `existingSecret`, `existingSecretPasswordKey`: Helm's name for a reference
    if words[-1] in _HOLDERS and not _PASSWORD_WORDS.isdisjoint(words[:-1]):
        return None
    last = -1  # the last word that says password or secret
    password = secret = False
    for i, w in enumerate(words):
        says_password = w in _PASSWORD_WORDS or w.endswith(("password", "passwd"))
        if says_password or w in _SECRET_WORDS:
            last = i
        password = password or says_password
        secret = secret or (
            w in _SECRET_WORDS
            or w.endswith(("secret", "token", "apikey"))
            or w.startswith("secret")
        )
    if 0 <= last < len(words) - 1 and words[last + 1] in _NOT_LAST:
        return None  # `LabelValueSecretTypeCluster`: the secret's type, not a secret
    if password:
        return True
    if secret:
        return False
    for a, b in itertools.pairwise(words):
        if b == "key" and a in _KEY_QUALIFIERS:
            return False
    if words[-1] == "auth" and len(words) > 1:
        return False
    return None


def key_end(text: str, at: int, most: int) -> int:
    """Where a key that reaches `at` in `text` ends: past the KEY_CHARS from `at` on, at
    most `most` of them."""
    tail = _KEY_TAIL(text, at, at + most)  # (always a match, maybe empty)
    return at if tail is None else tail.end()


# Lowercase substrings one of which every credential name holds (each word that
# `credential_name` looks for holds one): a key with none is passed by unsplit.
_NEEDLES = (
    *NAME_KEYWORDS,
    *sorted(w for w in _PASSWORD_WORDS | _SECRET_WORDS if not any(k in w for k in NAME_KEYWORDS)),
)
_NEEDLE = re.compile("|".join(map(re.escape, _NEEDLES)))


def may_name_credential(key: str) -> bool:
    """False when `credential_name(key)` is None for certain: for many distinct keys (a
    properties file's settings), a search where a split into words would cost several."""
    return _NEEDLE.search(key.lower()) is not None


@functools.lru_cache(maxsize=8192)
def secret_word_name(key: str) -> bool:
    """A credential name that says secret or token (`CLIENT_SECRET`, `SECRET_KEY`,
    `apiToken`): its value is a credential whatever it looks like, as a password's is."""
    if credential_name(key) is None:
        return False
    return any(
        w.startswith(SECRET_STEMS) or w.endswith(("secret", "token")) for w in key_words(key)
    )


# ---------------------------------------------------------------- Dockerfile ARG/ENV

# BuildKit's SecretsUsedInArgOrEnv name test, widened with hadolint DL3064's words.
_DOCKERFILE_WORDS = (
    *PASSWORD_STEMS,
    "pword",
    "secret",
    "token",
    "credentials?",
    "api_?key",
    "apikey",
    "auth",
    "key",
    "pat",
    "private_?key",
)
_DOCKERFILE_SECRET = re.compile(r"(?i)(?:^|_)(?:" + "|".join(_DOCKERFILE_WORDS) + r")(?:_|$)")
_DOCKERFILE_BENIGN = re.compile(
    r"(?i)public|file|version|dummy|path|_url$|_uri$|_name$|_id$|_ids$|^gpg_keys?$|keyring|"
    r"keyserver|_type$|_length$|_dir$"
)


def dockerfile_secret_name(name: str) -> bool:
    return bool(_DOCKERFILE_SECRET.search(name)) and not _DOCKERFILE_BENIGN.search(name)


def build_arg_secret_name(name: str) -> bool:
    """A build argument's name: BuildKit's reading, or the general one (`dbPassword`)."""
    return dockerfile_secret_name(name) or credential_name(name) is not None


# ---------------------------------------------------------------- Kubernetes env variables

_ENV_PASSWORD = re.compile(
    "|".join(s.upper() for s in (*PASSWORD_STEMS, *SECRET_STEMS))
    + r"|_PASS$|^PASS$|_PASS_|_PWD$|^PWD_|API_?KEY|AUTH_KEY|ACCESS_KEY"
)
# ... unless the name says the value is about the credential, not the credential itself
# (SECRET_NAME=default names a Secret object; TOKEN_TYPE=default is a setting).
_ENV_ABOUT = re.compile(
    r"_(FILE|PATH|DIR|NAME|TYPE|URL|URI|HOST|PORT|ENDPOINT|TTL|TIMEOUT|HEADER|ENABLED|MODE|"
    r"POLICY|METHOD|LENGTH|ID|REF|PROVIDER|STORE|ALGORITHM|FORMAT)$"
)
# Env variables that hold a login name (judged only next to a default password).
LOGIN_NAME = re.compile(r"USER|LOGIN|ACCOUNT")


def env_password_name(name: str) -> bool:
    """An env variable that holds a password, token or other credential."""
    upper = name.upper()
    return bool(_ENV_PASSWORD.search(upper)) and not _ENV_ABOUT.search(upper)


# ---------------------------------------------------------------- CI/CD variables

_CI_WORDS = (
    *(s.upper() for s in (*PASSWORD_STEMS, *SECRET_STEMS)),
    "PRIVATE_KEY",
    "API_KEY",
    "ACCESS_KEY",
    "KUBECONFIG",
    "KUBE_CONFIG",
    "AUTH",
)
# `$NAME` or `${NAME}` whose name holds one of the words; group 1 is the name.
CI_VARIABLE_REFERENCE = re.compile(
    r"\$\{?([A-Z0-9_]*(?:" + "|".join(_CI_WORDS) + r")[A-Z0-9_]*)\}?"
)
