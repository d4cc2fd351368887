"""Files that hold credentials, by name: what DS321 looks for in a COPY and what a build
context walk looks for on disk."""

from __future__ import annotations

import fnmatch
from pathlib import PurePosixPath

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
_DOCUMENTED = (".example", ".sample", ".template", ".dist", ".tmpl")


def credential_file(source: str) -> bool:
    path = source.rstrip("/")
    if any(p in source for p in CREDENTIAL_PATHS):
        return True
    name = PurePosixPath(path).name
    if name.endswith(_DOCUMENTED) or name.endswith(".pub"):
        return False
    return any(fnmatch.fnmatchcase(name, pat) for pat in CREDENTIAL_FILES)
