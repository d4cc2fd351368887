"""Edits as RFC 6902 JSON patches: each patch, applied by a real JSON-patch implementation
(the `jsonpatch` package) to the unedited object, gives what the edits give, and the
edits' own semantics hold (mappings made on the way, emptied parents removed, appends
that do not repeat a value)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
import pytest

from deploysafe.fix.jsonpatch import PatchRefused, patch_for, pointer
from deploysafe.rules.base import Edit, EditOp, FlowMap

POD: dict[str, Any] = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "web",
        "annotations": {"seccomp.security.alpha.kubernetes.io/pod": "unconfined"},
    },
    "spec": {
        "hostPID": True,
        "containers": [
            {
                "name": "web",
                "image": "example/web:1",
                "securityContext": {"privileged": True},
                "ports": [{"containerPort": 80, "hostPort": 80}],
            },
            {"name": "side", "image": "example/side:1", "securityContext": None},
        ],
    },
}


def applied(obj: dict[str, Any], ops: list[dict[str, Any]]) -> Any:
    return jsonpatch.JsonPatch(ops).apply(copy.deepcopy(obj))


def test_pointer_escapes_tilde_and_slash() -> None:
    assert pointer(("metadata", "annotations", "a/b~c")) == "/metadata/annotations/a~1b~0c"
    assert pointer(("spec", "containers", 0)) == "/spec/containers/0"


def test_set_replaces_adds_and_makes_the_mappings_above() -> None:
    edits = [
        Edit(EditOp.SET, ("spec", "containers", 0, "securityContext", "privileged"), False),
        Edit(
            EditOp.SET,
            ("spec", "securityContext", "seccompProfile"),
            FlowMap((("type", "RuntimeDefault"),)),
        ),
        Edit(EditOp.SET, ("spec", "containers", 1, "securityContext", "runAsNonRoot"), True),
    ]
    result = patch_for(POD, edits)
    assert result.ops == (
        {"op": "replace", "path": "/spec/containers/0/securityContext/privileged", "value": False},
        {
            "op": "add",
            "path": "/spec/securityContext",
            "value": {"seccompProfile": {"type": "RuntimeDefault"}},
        },
        {
            "op": "add",
            "path": "/spec/containers/1/securityContext",
            "value": {"runAsNonRoot": True},
        },
    )
    assert applied(POD, list(result.ops)) == result.patched
    assert result.patched["spec"]["securityContext"] == {
        "seccompProfile": {"type": "RuntimeDefault"}
    }
    assert POD["spec"]["containers"][1]["securityContext"] is None  # the input is not changed


def test_delete_removes_what_it_empties_and_escapes_annotation_keys() -> None:
    edits = [
        Edit(EditOp.DELETE, ("spec", "containers", 0, "securityContext", "privileged")),
        Edit(EditOp.DELETE, ("spec", "containers", 0, "ports", 0, "hostPort")),
        Edit(EditOp.DELETE, ("spec", "hostPID")),
        Edit(
            EditOp.DELETE,
            ("metadata", "annotations", "seccomp.security.alpha.kubernetes.io/pod"),
        ),
        Edit(EditOp.DELETE, ("spec", "hostIPC")),  # already gone: nothing to do
    ]
    result = patch_for(POD, edits)
    # Deletions go from the last list index back (yamledit.order), so paths stay valid.
    assert result.ops == (
        {"op": "remove", "path": "/spec/containers/0/ports/0/hostPort"},
        {"op": "remove", "path": "/spec/containers/0/securityContext"},
        {"op": "remove", "path": "/metadata/annotations"},
        {"op": "remove", "path": "/spec/hostPID"},
    )
    assert applied(POD, list(result.ops)) == result.patched
    assert result.patched["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]


def test_list_items_are_removed_from_the_last_index_back() -> None:
    obj = {"kind": "Pod", "caps": {"add": ["NET_RAW", "SYS_ADMIN", "CHOWN", "NET_ADMIN"]}}
    edits = [Edit(EditOp.DELETE, ("caps", "add", 1)), Edit(EditOp.DELETE, ("caps", "add", 3))]
    result = patch_for(obj, edits)
    assert [op["path"] for op in result.ops] == ["/caps/add/3", "/caps/add/1"]
    assert applied(obj, list(result.ops)) == {"kind": "Pod", "caps": {"add": ["NET_RAW", "CHOWN"]}}


def test_append_makes_the_list_or_joins_it_once() -> None:
    obj = {"kind": "Pod", "a": {"drop": ["NET_RAW"]}, "b": {}}
    edits = [
        Edit(EditOp.APPEND, ("a", "drop"), "ALL"),
        Edit(EditOp.APPEND, ("a", "drop"), "NET_RAW"),  # already there
        Edit(EditOp.APPEND, ("b", "drop"), "ALL"),
        Edit(EditOp.SET, ("c",), ("x", "y")),
    ]
    result = patch_for(obj, edits)
    assert result.ops == (
        {"op": "add", "path": "/a/drop/-", "value": "ALL"},
        {"op": "add", "path": "/b/drop", "value": ["ALL"]},
        {"op": "add", "path": "/c", "value": ["x", "y"]},
    )
    assert applied(obj, list(result.ops)) == result.patched


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (Edit(EditOp.SET, ("kind", "x"), 1), "kind is not a mapping or a list"),
        (Edit(EditOp.APPEND, ("kind",), 1), "kind is not a list"),
        (Edit(EditOp.SET, ("spec", "containers", 5, "x"), 1), "spec.containers.5 cannot be made"),
    ],
)
def test_edits_that_do_not_fit_the_object_are_refused(edit: Edit, message: str) -> None:
    with pytest.raises(PatchRefused, match=message):
        patch_for(POD, [edit])
