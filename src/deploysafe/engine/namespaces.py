"""Which Pod Security level each namespace enforces: the PSS labels of the Namespace objects a
scan finds, so every object is judged at its namespace's level.

An object with no namespace gets one at install time: the objects installed together (one
render, one folder of plain manifests) share that unknown namespace, and a chart's Namespace
named `.Release.Namespace` is it.

The labels are found before any object is judged (engine/pool.py): a byte search of every
file for a line-start `kind: Namespace`, and a parse of only the files that hold one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ahocorasick_rs import BytesAhoCorasick

from deploysafe.frozen import record
from deploysafe.inputs.discover import YAML_SUFFIXES
from deploysafe.inputs.documents import RELEASE_NAMESPACE, install_unit, load_kubernetes
from deploysafe.model import Document, Level, Version, parse_version

PSS_ENFORCE = "pod-security.kubernetes.io/enforce"
PSS_ENFORCE_VERSION = "pod-security.kubernetes.io/enforce-version"


@record
class NamespacePolicy:
    """The Pod Security level a namespace enforces; level None = privileged (no checks)."""

    level: Level | None
    version: Version


_NS_KIND = re.compile(rb"kind:[ \t]*[\"']?Namespace[\"']?[ \t]*(?:#[^\r\n]*)?\r?(?:\n|$)")
# `Namespace` followed by what `_NS_KIND` allows after it (the end of the text aside): a
# CRD's `scope: Namespaced`, in nearly every CRD, is passed over by the automaton.
_NS_WORD = BytesAhoCorasick(
    [b"Namespace" + c for c in (b'"', b"'", b" ", b"\t", b"#", b"\r", b"\n")]
)


def _has_namespace(raw: bytes) -> bool:
    """Does a top-level `kind: Namespace` occur? On bytes, so the files without one (nearly
    all) are never decoded: each `Namespace` that may end such a line (most files have
    none) is looked at from the start of its line. (Searching for line-start `kind:`
    instead reads a large CRD through at a crawl: a colon ends nearly every line of YAML.)"""
    if raw.endswith(b"Namespace") and _at_line_start(raw, len(raw) - 9):
        return True
    hits = _NS_WORD.find_matches_as_indexes(raw)
    return bool(hits) and any(_at_line_start(raw, i) for _, i, _ in hits)


def _at_line_start(raw: bytes, i: int) -> bool:
    """Whether the line of the `Namespace` at `i` is a `kind: Namespace` line."""
    return _NS_KIND.match(raw, raw.rfind(b"\n", 0, i) + 1) is not None


def namespace_policy(labels: Mapping[str, Any]) -> NamespacePolicy | None:
    enforce = labels.get(PSS_ENFORCE)
    if enforce is None:
        return None
    # As pod-security-admission's PolicyToEvaluate: a level it cannot parse is restricted
    # (only an exact "privileged" turns the checks off).
    level = {"privileged": None, "baseline": Level.BASELINE}.get(str(enforce), Level.RESTRICTED)
    try:
        version = parse_version(str(labels.get(PSS_ENFORCE_VERSION, "latest")))
    except ValueError:
        version = parse_version("latest")
    return NamespacePolicy(level, version)


def policy_key(doc: Document) -> str:
    """The namespace whose policy judges `doc`: its own, else the one its install decides
    (a key no real namespace name can be)."""
    return doc.namespace or _install_time(doc)


def _install_time(doc: Document) -> str:
    return f"{RELEASE_NAMESPACE} of {install_unit(doc)}"


def namespaces_in(docs: Iterable[Document]) -> dict[str, NamespacePolicy]:
    out = {}
    for d in docs:
        if d.kind == "Namespace" and d.name:
            labels = d.metadata.get("labels")
            policy = namespace_policy(labels if isinstance(labels, dict) else {})
            if policy is not None:
                key = _install_time(d) if d.name == RELEASE_NAMESPACE else d.name
                out[key] = policy
    return out


def defines_namespaces(raw: bytes, name: str, max_size: int) -> bool:
    """Whether a file's bytes may define a Namespace (`namespaces_of_file` parses them): a
    cheap byte filter, so only the files that do (nearly none) are parsed for it."""
    if len(raw) > max_size or not name.endswith(YAML_SUFFIXES):
        return False
    json_ns = name.endswith(".json") and b'"Namespace"' in raw
    return json_ns or _has_namespace(raw)


def namespaces_of_file(raw: bytes, display: str) -> dict[str, NamespacePolicy]:
    """The namespaces (with PSS labels) the YAML/JSON file shown as `display` defines."""
    text = raw.decode("utf-8-sig", errors="replace")
    return namespaces_in(load_kubernetes(text, display).documents)
