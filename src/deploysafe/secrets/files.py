"""Files that hold credentials, by name: what DS321 looks for in a COPY and what a build
context walk looks for on disk."""

from __future__ import annotations

import fnmatch
import re

from deploysafe.pathnames import name_of

CREDENTIAL_FILES = (
    ".npmrc",
    ".yarnrc.yml",
    ".pypirc",
    ".netrc",
    "_netrc",
    ".git-credentials",
    ".env",
    ".env.*",
    "id_rsa",
    "id_dsa",
    "id_ecdsa",
    "id_ed25519",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "credentials*.json",
    "service-account*.json",
    "kubeconfig",
    "*.kubeconfig",
    "settings.xml",
    "nuget.config",
    "*.tfvars",
    "*.tfstate",
    ".htpasswd",
)
CREDENTIAL_PATHS = (".docker/config.json", ".aws/credentials", ".kube/config", ".ssh/")
# One regex for the names (fnmatch.translate anchors each): a walk asks for every file.
_CREDENTIAL_NAME = re.compile("|".join(fnmatch.translate(p) for p in CREDENTIAL_FILES))
_DOCUMENTED = (".example", ".sample", ".template", ".dist", ".tmpl")


def credential_file(source: str) -> bool:
    path = source.rstrip("/")
    if any(p in source for p in CREDENTIAL_PATHS):
        return True
    name = name_of(path)
    if name.endswith(_DOCUMENTED) or name.endswith(".pub"):
        return False
    return _CREDENTIAL_NAME.match(name) is not None


# Names that often hold nothing but settings (a CA bundle, `save-exact=true`, a Maven mirror
# list). Where the file itself can be read (a build context on disk), it counts only when its
# text holds a credential; `${VAR}` and `%VAR%` references are not credentials.
_CONTENT_TESTS = (
    ("*.pem", rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----"),
    (".npmrc", rb"(?m)^[^#;\n]*(?:_authToken|_auth|_password)[ \t]*=[ \t]*(?![\"']?\$\{)[^\s]"),
    (
        ".yarnrc.yml",
        rb"(?m)^\s*(?:npmAuthToken|npmAuthIdent|npmPassword)\s*:\s*[\"']?(?!\$\{)[^\s\"'#]",
    ),
    ("settings.xml", rb"<password>\s*(?!\$\{)[^<\s]"),
    ("nuget.config", rb"(?i)key=\"(?:cleartext)?password\"\s+value=\"(?!%)[^\"]"),
)


def content_test(name: str) -> re.Pattern[bytes] | None:
    """What a file of this name must contain to count, or None if its name is enough."""
    low = name.lower()
    for pattern, test in _CONTENT_TESTS:
        if fnmatch.fnmatchcase(low, pattern.lower()):
            return re.compile(test)  # compiled once, on first use (kept in re's cache)
    return None
