"""The shared shapes' derived values: JSON pointers, an object's resource."""

from __future__ import annotations

from dataclasses import replace

from deploysafe.model import Document, KeyPath, Resource, Target, pointer


def test_pointers_escape_tilde_and_slash_in_keys() -> None:
    cases: dict[KeyPath, str] = {
        (): "",
        ("spec", "containers", 0, "image"): "/spec/containers/0/image",
        ("metadata", "annotations", "a/b~c"): "/metadata/annotations/a~1b~0c",
        ("/",): "/~1",
        ("~",): "/~0",
        ("", 1): "//1",
    }
    assert {path: pointer(path) for path in cases} == cases


def test_an_object_s_resource_is_its_own_after_a_copy() -> None:
    doc = Document("a.yaml", {"kind": "Pod", "metadata": {"name": "web"}}, {}, ())
    assert doc.resource == Resource("Pod", None, "web")
    assert doc.resource is doc.resource
    placed = replace(doc, default_namespace="shop")
    assert placed.resource == Resource("Pod", "shop", "web")
    assert replace(doc, type=Target.TEXT).resource is None
