"""Edits keep the file as its author wrote it: only the lines an edit owns change."""

from __future__ import annotations

import difflib
import io

import pytest

from deploysafe.fix import EditRefused, apply_text
from deploysafe.fix.yamledit import guess_indent, round_trip
from deploysafe.rules.base import Edit, EditOp, FlowMap

# Real-world habits in one file: a header comment, comments on keys and between them, blank
# lines, an anchor and its alias, flow mappings, quoting styles, a folded scalar, a list
# indented under its key, and a second document.
STYLED = """\
# Shop front end. Owned by team-web.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: "shop-web"   # quoted on purpose
  labels: &labels {app: shop-web, tier: 'front'}
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
    spec:
      containers:
        - name: web
          image: 'registry.example/web:1.4'
          args: [--port, "8080"]
          command:
            - >-
              serve
              --quiet
          securityContext:
            runAsUser: 10001    # the image's app user

      # Volumes come last.
      volumes:
        - name: cache
          emptyDir: {}
---
apiVersion: v1
kind: Service
metadata: {name: shop-web}
spec:
  ports: [{port: 80, targetPort: 8080}]
"""

CONTAINER = ("spec", "template", "spec", "containers", 0)
POD_SPEC = ("spec", "template", "spec")


def changed(before: str, after: str) -> list[str]:
    """The diff's changed lines only, each with its sign."""
    return [
        line.rstrip("\r\n")
        for line in difflib.unified_diff(before.splitlines(True), after.splitlines(True), n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_setting_keys_changes_only_their_lines_and_keeps_everything_else() -> None:
    after = apply_text(
        STYLED,
        {
            3: [
                Edit(
                    EditOp.SET, (*CONTAINER, "securityContext", "allowPrivilegeEscalation"), False
                ),
                Edit(
                    EditOp.SET,
                    (*POD_SPEC, "securityContext", "seccompProfile"),
                    FlowMap((("type", "RuntimeDefault"),)),
                ),
            ]
        },
    )
    assert changed(STYLED, after) == [
        "+            allowPrivilegeEscalation: false",
        "+      securityContext:",
        "+        seccompProfile: {type: RuntimeDefault}",
    ]
    # The comment and the blank line stay above the volumes, not after the new key.
    assert (
        "runAsUser: 10001    # the image's app user\n"
        "            allowPrivilegeEscalation: false\n"
        "\n"
        "      # Volumes come last.\n" in after
    )
    assert after.endswith(
        "          emptyDir: {}\n"
        "      securityContext:\n"
        "        seccompProfile: {type: RuntimeDefault}\n"
        "---\n"
        "apiVersion: v1\n"
        "kind: Service\n"
        "metadata: {name: shop-web}\n"
        "spec:\n"
        "  ports: [{port: 80, targetPort: 8080}]\n"
    )


def test_deleting_the_last_key_keeps_the_comment_that_follows_it_and_drops_what_it_empties() -> (
    None
):
    after = apply_text(
        STYLED, {3: [Edit(EditOp.DELETE, (*CONTAINER, "securityContext", "runAsUser"))]}
    )
    assert changed(STYLED, after) == [
        "-          securityContext:",
        "-            runAsUser: 10001    # the image's app user",
    ]
    assert "\n\n      # Volumes come last.\n      volumes:\n" in after


def test_flow_collections_stay_flow_and_a_list_item_goes_with_its_empty_list() -> None:
    text = """\
apiVersion: v1
kind: Pod
metadata: {name: app}
spec:
  containers:
  - name: app
    image: app
    securityContext: {capabilities: {drop: [NET_RAW], add: [SYS_ADMIN]}}
"""
    sc = ("spec", "containers", 0, "securityContext")
    after = apply_text(
        text,
        {
            2: [
                Edit(EditOp.APPEND, (*sc, "capabilities", "drop"), "ALL"),
                Edit(EditOp.DELETE, (*sc, "capabilities", "add", 0)),
            ]
        },
    )
    assert changed(text, after) == [
        "-    securityContext: {capabilities: {drop: [NET_RAW], add: [SYS_ADMIN]}}",
        "+    securityContext: {capabilities: {drop: [NET_RAW, ALL]}}",
    ]


@pytest.mark.parametrize(("bom", "newline"), [("", "\r\n"), ("\ufeff", "\n"), ("\ufeff", "\r\n")])
def test_crlf_endings_and_a_bom_survive(bom: str, newline: str) -> None:
    text = bom + STYLED.replace("\n", newline)
    after = apply_text(text, {3: [Edit(EditOp.DELETE, (*CONTAINER, "args"))]})
    assert after == bom + STYLED.replace('          args: [--port, "8080"]\n', "").replace(
        "\n", newline
    )


def test_a_file_without_a_final_newline_keeps_it_that_way() -> None:
    text = "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostPID: true\n  hostIPC: true"
    after = apply_text(text, {2: [Edit(EditOp.DELETE, ("spec", "hostPID"))]})
    assert after == "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec:\n  hostIPC: true"


def test_sequences_not_indented_under_their_key_are_kept() -> None:
    text = "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: a\n"
    assert guess_indent(text) == (2, 0)
    assert guess_indent(STYLED) == (2, 2)
    after = apply_text(
        text,
        {1: [Edit(EditOp.SET, ("spec", "containers", 0, "securityContext", "runAsNonRoot"), True)]},
    )
    assert after == text + "    securityContext:\n      runAsNonRoot: true\n"


def test_editing_is_idempotent() -> None:
    edits = {
        3: [Edit(EditOp.SET, (*CONTAINER, "securityContext", "allowPrivilegeEscalation"), False)]
    }
    once = apply_text(STYLED, edits)
    assert apply_text(once, edits) == once


def test_what_cannot_be_edited_is_refused() -> None:
    with pytest.raises(EditRefused, match="cannot be parsed for editing"):
        apply_text("kind: Pod\nspec: [unclosed\n", {1: []})
    with pytest.raises(EditRefused, match="no object whose kind is on line 9"):
        apply_text(STYLED, {9: [Edit(EditOp.DELETE, ("spec",))]})
    with pytest.raises(
        EditRefused, match=r"spec\.template\.spec\.containers\.0\.image is not a mapping"
    ):
        apply_text(STYLED, {3: [Edit(EditOp.SET, (*CONTAINER, "image", "x"), 1)]})


def test_a_patch_s_null_does_not_change_how_other_files_are_dumped() -> None:
    """kustomize patches write `key: null` (that is what removes a key); ruamel registers
    representers on a class, so once a patch is made every other round trip must still
    dump an empty value as `key:`."""
    from deploysafe.fix import kustomize

    assert "hostNetwork: null" in kustomize.merged_text("", {"spec": {"hostNetwork": None}})
    yaml = round_trip("a:\n")
    out = io.StringIO()
    yaml.dump(yaml.load("a:\nb: 1\n"), out)
    assert out.getvalue() == "a:\nb: 1\n"
