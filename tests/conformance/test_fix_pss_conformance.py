"""`deploysafe fix` against pod-security-admission's fail fixtures (../shared/conformance/pss).

Each fixture is fixed with `deploysafe fix --policy LEVEL --pss-version V --select <the Pod
Security rules> --unsafe-fixes` (one tree per level and version). Then: the file is allowed
at its level and version by our PSA engine (which agrees with the upstream library on every
fixture), the object is unchanged but for the fields the fixes own, and fixing again changes
nothing. The fixtures that cannot be fixed automatically are named here and in docs/fix.md.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from deploysafe.cli.exits import EXIT_CLEAN, EXIT_FINDINGS
from deploysafe.inputs.documents import load_kubernetes
from deploysafe.model import Level, parse_version
from deploysafe.rules import REGISTRY
from deploysafe.rules.environment.pss import PSS_RULES
from deploysafe.rules.environment.pss.verdict import evaluate
from tests.support import paths
from tests.support.scantools import invoke

_INDEX = paths.conformance("pss/INDEX.json")
PSS_DIR = _INDEX.parent if _INDEX is not None else None
SKIP_REASON = (
    "PSA conformance fixtures not found: set DEPLOYSAFE_CONFORMANCE to the shared "
    "conformance directory (the one holding pss/INDEX.json)"
)

# A volume the pod needs cannot be swapped for another kind automatically: which storage
# replaces an NFS export or a node directory is the owner's decision.
UNFIXABLE = re.compile(r"^(restrictedvolumes|hostpathvolumes)\d+$")

# What the Pod Security fixes write or remove: a container's or the pod's securityContext,
# the host namespaces, host ports, probe and hook hosts, and the seccomp and AppArmor
# annotations of the policy versions that read them.
OWNED_KEYS = frozenset({"securityContext", "hostNetwork", "hostPID", "hostIPC", "hostPort", "host"})
OWNED_ANNOTATIONS = re.compile(
    r"^(seccomp\.security\.alpha\.kubernetes\.io/|container\.seccomp\.security\.alpha\."
    r"kubernetes\.io/|container\.apparmor\.security\.beta\.kubernetes\.io/)"
)


def unowned(data: Any, key: str = "") -> Any:
    """`data` without the fields the fixes own, and without what that leaves empty."""
    if isinstance(data, dict):
        kept = {
            k: unowned(v, k)
            for k, v in data.items()
            if k not in OWNED_KEYS
            and not (key == "annotations" and OWNED_ANNOTATIONS.match(str(k)))
        }
        return {k: v for k, v in kept.items() if v not in ({}, [])}
    if isinstance(data, list):
        return [unowned(v) for v in data]
    return data


def _groups() -> dict[tuple[str, str], list[Mapping[str, Any]]]:
    if PSS_DIR is None:
        return {}
    groups: dict[tuple[str, str], list[Mapping[str, Any]]] = defaultdict(list)
    for entry in json.loads((PSS_DIR / "INDEX.json").read_text())["fixtures"]:
        if entry["expect"] == "forbidden":
            groups[(entry["level"], entry["version"])].append(entry)
    return dict(sorted(groups.items()))


GROUPS = _groups()


@pytest.mark.skipif(PSS_DIR is None, reason=SKIP_REASON)
@pytest.mark.parametrize("group", list(GROUPS), ids=[f"{lv}-{v}" for lv, v in GROUPS])
def test_fix_makes_every_fail_fixture_allowed(group: tuple[str, str], tmp_path: Path) -> None:
    assert PSS_DIR is not None
    level, version = group
    originals = {}
    for entry in GROUPS[group]:
        originals[Path(entry["path"]).name] = (PSS_DIR / entry["path"]).read_text()
        (tmp_path / Path(entry["path"]).name).write_text(originals[Path(entry["path"]).name])
    # The Pod Security rules' fixes only: what the fixtures are judged by, and the fields
    # the ownership check knows (other rules' fixes, such as DS599's, are not measured here).
    pss = ",".join(sorted(r.id for r in REGISTRY if r.pss is not None))
    args = ["fix", "--policy", level, "--pss-version", version, "--select", pss]
    result = invoke(*args, "--unsafe-fixes", str(tmp_path))
    unfixable = sorted(n for n in originals if UNFIXABLE.match(Path(n).stem))
    assert result.exit_code == (EXIT_FINDINGS if unfixable else EXIT_CLEAN), result.output
    forbidden = []
    for name, before in sorted(originals.items()):
        after = (tmp_path / name).read_text()
        loaded = load_kubernetes(after, name)
        assert not loaded.errors and len(loaded.documents) == 1, name
        verdict = evaluate(PSS_RULES, loaded.documents[0], Level(level), parse_version(version))
        if not verdict.allowed:
            forbidden.append(name)
            assert after == before, f"{name}: an unfixable fixture is left as it was"
        was = load_kubernetes(before, name).documents[0].data
        assert unowned(loaded.documents[0].data) == unowned(was), f"{name}: unowned change"
    assert forbidden == unfixable
    for name in unfixable:
        assert f"{name}:" in result.output and "the rule offers no automatic fix" in result.output
    # Its own output gives the fix nothing more to do.
    fixed = {name: (tmp_path / name).read_bytes() for name in originals}
    again = invoke(*args, "--unsafe-fixes", str(tmp_path))
    assert "fixed 0 finding(s) in 0 file(s)" in again.output
    assert {name: (tmp_path / name).read_bytes() for name in originals} == fixed


@pytest.mark.skipif(PSS_DIR is None, reason=SKIP_REASON)
def test_the_unfixable_fixtures_are_the_volume_ones() -> None:
    names = {Path(e["path"]).stem for entries in GROUPS.values() for e in entries}
    unfixable = sum(
        1 for es in GROUPS.values() for e in es if UNFIXABLE.match(Path(e["path"]).stem)
    )
    total = sum(len(es) for es in GROUPS.values())
    print(f"PSS fix: {total - unfixable} of {total} fail fixtures fixed; {unfixable} need a person")
    assert (total, unfixable) == (987, 258)
    assert {n for n in names if UNFIXABLE.match(n)} == {
        *(f"hostpathvolumes{i}" for i in range(2)),
        *(f"restrictedvolumes{i}" for i in range(20)),
    }
