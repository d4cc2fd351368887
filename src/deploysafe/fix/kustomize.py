"""Fixes of objects a kustomization builds: a strategic-merge patch in the kustomization that
was built (the render root), listed in its `patches:`, so that a base other overlays share
stays as it is. With `--edit-base`, the file that wrote the object is edited instead.

The patch is the difference between the rendered object and the same object with the fix's
edits made: the object's identity as its file spells it (kustomize matches a patch on the
name before this kustomization's prefixes), then only the fields the fix sets, list items
of merged lists (containers, ...) by their merge key, a removed key as `null`, and a list
kustomize replaces whole (capabilities, sysctls) whole. A patch file of the same name is
merged into (a later run fixes what the earlier one revealed)."""

from __future__ import annotations

import copy
import io
import posixpath
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap
from ruamel.yaml.error import YAMLError
from ruamel.yaml.representer import RoundTripRepresenter

from deploysafe.fix.paths import child, dotted
from deploysafe.fix.rendered import Done, InPlace, Left, Planned, Target, manual_at
from deploysafe.fix.yamledit import EditRefused, apply_first, order, round_trip
from deploysafe.inputs.documents import load_kubernetes
from deploysafe.model import Document, KeyPath
from deploysafe.rules.base import Edit, EditOp, FlowMap, plain

PREFIX = "kustomize "
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")

# The merge keys of the lists a strategic-merge patch merges item by item in the objects
# the fixes change (pod templates); every other list is replaced whole.
MERGE_KEYS: Mapping[str, str] = {
    "containers": "name",
    "initContainers": "name",
    "ephemeralContainers": "name",
    "volumes": "name",
    "env": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
}


class Unfit(Exception):
    """The fix cannot be written as a strategic-merge patch (the message says why)."""


def plan(found: Sequence[Target], root: Path, *, edit_base: bool) -> Planned:
    """Patches (or, with `edit_base`, in-place edits) for the targets of kustomize renders."""
    if edit_base:
        return _in_place(found, root)
    groups: dict[tuple[str, int], list[Target]] = defaultdict(list)
    for t in found:
        groups[(t.render, id(t.doc))].append(t)
    texts: dict[str, tuple[str, str]] = {}
    done: list[Done] = []
    left: list[Left] = []
    for group in groups.values():
        try:
            written = _patch(group, root, texts)
        except Unfit as exc:
            left += [manual_at(t.finding, str(exc)) for t in group]
            continue
        except EditRefused as exc:
            left += [Left(t.finding, "refused", f"{exc}: not written") for t in group]
            continue
        done += [Done(t.finding, t.fix, written) for t in group]
    return _whole(Planned(texts, tuple(done), tuple(left)))


def _whole(p: Planned) -> Planned:
    """A finding of several renders is fixed in all of them or left."""
    left = {id(x.finding) for x in p.left}
    by: dict[int, list[Done]] = defaultdict(list)
    for d in p.done:
        by[id(d.finding)].append(d)
    done = []
    for ds in by.values():
        if id(ds[0].finding) in left:
            continue
        files = tuple(dict.fromkeys(f for d in ds for f in d.files))
        done.append(Done(ds[0].finding, ds[0].fix, files))
    seen: set[int] = set()
    out = []
    for x in p.left:
        if id(x.finding) not in seen:
            seen.add(id(x.finding))
            out.append(x)
    return Planned(p.texts, tuple(done), tuple(out))


# --- a patch in the overlay ---------------------------------------------------------------


def _patch(
    group: Sequence[Target], root: Path, texts: dict[str, tuple[str, str]]
) -> tuple[str, ...]:
    """Add the group's fixes (one object of one render) to the overlay's patch file and
    list it in the kustomization; the texts go into `texts`. The files written."""
    doc = group[0].doc
    folder = group[0].render.removeprefix(PREFIX)
    kfile = next(
        (_in(folder, n) for n in KUSTOMIZATION_FILES if (root / folder / n).is_file()), None
    )
    if kfile is None:
        raise Unfit(f"no kustomization file in {folder}")
    edits = [e for t in group for e in t.fix.edits]
    after = edited(doc.data, edits)
    body = smp(doc.data, after, builtin=_builtin(doc.api_version))
    if not isinstance(body, dict) or not body:
        raise Unfit("the fix changes nothing a patch can hold")
    patch = _header(doc)
    meta = body.pop("metadata", None)
    if isinstance(meta, dict):
        patch["metadata"].update(meta)
    patch.update(body)
    name = patch_name(doc)
    pfile = _in(folder, name)
    before = _current(root, pfile, texts)
    texts[pfile] = (_original(root, pfile, texts), merged_text(before, patch))
    ktext = _current(root, kfile, texts)
    listed = _listed(ktext, name)
    if not listed:
        new = apply_first(
            ktext, [Edit(EditOp.APPEND, ("patches",), FlowMap((("path", name),), flow=False))]
        )
        texts[kfile] = (_original(root, kfile, texts), new)
        return (pfile, kfile)
    return (pfile,)


def _in(folder: str, name: str) -> str:
    """A file in a folder, named from the scan root (which the folder may be)."""
    return name if folder == "." else posixpath.join(folder, name)


def _current(root: Path, file: str, texts: Mapping[str, tuple[str, str]]) -> str:
    if file in texts:
        return texts[file][1]
    return _original(root, file, texts)


def _original(root: Path, file: str, texts: Mapping[str, tuple[str, str]]) -> str:
    if file in texts:
        return texts[file][0]
    path = root / file
    if not path.exists():
        return ""
    try:
        return path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise EditRefused(f"{file} cannot be read ({exc})") from None


def patch_name(doc: Document) -> str:
    """`deploysafe-fix-deployment-web.yaml`: one patch file per object of the overlay."""
    raw = f"{doc.kind}-{spelled(doc, 'name') or doc.name or 'unnamed'}".lower()
    return f"deploysafe-fix-{re.sub(r'[^a-z0-9.-]+', '-', raw)}.yaml"


def spelled(doc: Document, key: str) -> str | None:
    """`metadata.<key>` as the object's own file writes it: before the build's prefixes,
    suffixes and namespace, as kustomize matches a patch."""
    path = ("metadata", key)
    pos = doc.positions.get(path)
    if pos is None or not 1 <= pos[0] <= len(doc.lines):
        return None
    m = re.match(rf"\s*{key}:\s*(.*?)\s*(?:#.*)?$", doc.lines[pos[0] - 1])
    if m is None or not m.group(1):
        return None
    value = m.group(1)
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return value if re.fullmatch(r"[A-Za-z0-9.-]+", value) else None


def _header(doc: Document) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": spelled(doc, "name") or doc.name}
    namespace = spelled(doc, "namespace")
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": doc.api_version, "kind": doc.kind, "metadata": meta}


def _listed(ktext: str, name: str) -> bool:
    try:
        data = _yaml().load(ktext.removeprefix("\ufeff"))
    except YAMLError:
        raise EditRefused("the kustomization cannot be parsed") from None
    if not isinstance(data, dict):
        raise EditRefused("the kustomization is not a mapping")
    entries = data.get("patches") or []
    return any(isinstance(e, dict) and e.get("path") == name for e in entries)


def _builtin(api_version: str) -> bool:
    """Kubernetes' own kinds, whose lists kustomize merges by their schema's merge keys;
    a custom resource's lists are replaced whole."""
    group = api_version.rpartition("/")[0]
    return "." not in group or group.endswith(".k8s.io")


# --- the object with the edits made, and the difference ------------------------------------


def edited(data: Mapping[str, Any], edits: Sequence[Edit]) -> dict[str, Any]:
    """A copy of `data` with `edits` made as yamledit makes them in a file (but for the
    mappings a deletion empties, see _drop)."""
    out = copy.deepcopy(dict(data))
    for edit in order(edits):
        _edit(out, edit)
    return out


def _edit(doc: dict[str, Any], edit: Edit) -> None:
    nodes: list[Any] = [doc]
    for key in edit.path[:-1]:
        node = nodes[-1]
        below = child(node, key)
        if below is None:
            if edit.op is EditOp.DELETE:
                return
            if not isinstance(node, dict) or not isinstance(key, str):
                raise Unfit(f"{dotted(edit.path)} cannot be created")
            below = node[key] = {}
        nodes.append(below)
    parent, key = nodes[-1], edit.path[-1]
    if edit.op is EditOp.SET:
        _put(parent, key, plain(edit.value))
    elif edit.op is EditOp.APPEND:
        current = child(parent, key)
        if current is None:
            _put(parent, key, [])
            current = child(parent, key)
        if not isinstance(current, list):
            raise Unfit(f"{dotted(edit.path)} is not a list")
        if plain(edit.value) not in current:
            current.append(plain(edit.value))
    else:
        _drop(nodes, edit.path)


def _drop(nodes: list[Any], path: KeyPath) -> None:
    """Delete the node at `path`. A mapping the deletion empties stays (unlike in a file):
    the patch then nulls the key alone, and a later patch that sets a key beside it
    cannot bring back the others (a mapping set over a null is merged with the base's)."""
    parent, key = nodes[-1], path[-1]
    if child(parent, key) is not None or (isinstance(parent, dict) and key in parent):
        del parent[key]


def _put(parent: Any, key: str | int, value: Any) -> None:
    if child(parent, key) is None and not (isinstance(parent, dict) and isinstance(key, str)):
        raise Unfit(f"cannot set {key}")
    parent[key] = value


def smp(before: Any, after: Any, *, builtin: bool, key: str | int = "") -> Any:
    """The strategic-merge patch that turns `before` into `after` (mappings); raises Unfit
    when a list item cannot be named by its merge key."""
    out: dict[str, Any] = {}
    for k, new in after.items():
        if k not in before:
            out[k] = new
        elif before[k] != new:
            out[k] = _value(before[k], new, builtin=builtin, key=k)
    for k in before:
        if k not in after:
            out[k] = None  # a strategic-merge patch removes a key it sets to null
    return out


def _value(old: Any, new: Any, *, builtin: bool, key: str | int) -> Any:
    if isinstance(old, dict) and isinstance(new, dict):
        return smp(old, new, builtin=builtin, key=key)
    merge_key = MERGE_KEYS.get(str(key)) if builtin else None
    if isinstance(old, list) and isinstance(new, list) and merge_key is not None:
        return _items(old, new, merge_key, builtin=builtin)
    return new


def _items(old: list[Any], new: list[Any], merge_key: str, *, builtin: bool) -> list[Any]:
    def named(items: list[Any]) -> dict[Any, Any]:
        if not all(isinstance(i, dict) and merge_key in i for i in items):
            raise Unfit(f"a list item without its merge key `{merge_key}`")
        return {i[merge_key]: i for i in items}

    was, now = named(old), named(new)
    out: list[Any] = []
    for name, item in now.items():
        if name not in was:
            out.append(item)
        elif was[name] != item:
            out.append({merge_key: name, **smp(was[name], item, builtin=builtin)})
    out += [{merge_key: name, "$patch": "delete"} for name in was if name not in now]
    return out


# --- the patch file's text --------------------------------------------------------------


class _PatchRepresenter(RoundTripRepresenter):
    """`key: null`, not `key:`: the null is what removes the key. A class of its own, as
    ruamel registers representers on the class: every other round trip keeps `key:`."""


_PatchRepresenter.add_representer(
    type(None), lambda r, _: r.represent_scalar("tag:yaml.org,2002:null", "null")
)


def _yaml(text: str = "") -> YAML:
    yaml = round_trip(text)
    yaml.Representer = _PatchRepresenter
    return yaml


def merged_text(before: str, patch: Mapping[str, Any]) -> str:
    """The patch file's text: `patch` alone, or merged into the patch `before` holds."""
    yaml = _yaml(before)
    if before.strip():
        try:
            current = yaml.load(before.removeprefix("\ufeff"))
        except YAMLError:
            raise EditRefused("the patch file cannot be parsed") from None
        same = isinstance(current, CommentedMap) and all(
            current.get(k) == patch[k] for k in ("apiVersion", "kind")
        )
        meta = current.get("metadata") if isinstance(current, CommentedMap) else None
        if not same or not isinstance(meta, dict) or meta.get("name") != patch["metadata"]["name"]:
            raise EditRefused("the patch file of that name patches another object")
        data: Any = merge(current, patch)
    else:
        data = patch
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def merge(old: Any, new: Any, key: str | int = "") -> Any:
    """`new` (a patch) merged into `old` (one), as applying both in turn would."""
    if isinstance(old, dict) and isinstance(new, dict):
        if new.get("$patch") == "delete":
            return new
        for k, v in new.items():
            old[k] = merge(old[k], v, k) if k in old else v
        return old
    merge_key = MERGE_KEYS.get(str(key))
    if isinstance(old, list) and isinstance(new, list) and merge_key is not None:
        for item in new:
            at = next(
                (
                    i
                    for i, o in enumerate(old)
                    if isinstance(o, dict)
                    and isinstance(item, dict)
                    and o.get(merge_key) == item.get(merge_key)
                ),
                None,
            )
            if at is None:
                old.append(item)
            else:
                old[at] = merge(old[at], item)
        return old
    return new


# --- --edit-base ---------------------------------------------------------------------------


def _in_place(found: Sequence[Target], root: Path) -> Planned:
    """Each finding fixed in the file that wrote its object, when that file is plain YAML
    holding the object at the lines the render says."""
    in_place: list[InPlace] = []
    left: list[Left] = []
    seen: set[int] = set()
    for t in found:
        f = t.finding
        if id(f) in seen:
            continue
        seen.add(id(f))
        got = _base_fix(t, root)
        if isinstance(got, str):
            left.append(manual_at(f, got))
        else:
            in_place.append(got)
    return Planned(left=tuple(left), in_place=tuple(in_place))


def _base_fix(t: Target, root: Path) -> InPlace | str:
    f, doc = t.finding, t.doc
    if f.file != doc.file:
        return f"{f.file} is a patch, not the object's file"
    try:
        text = (root / doc.file).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return f"{doc.file} cannot be read"
    loaded = load_kubernetes(text.removeprefix("\ufeff"), doc.file)
    kind_line = doc.positions.get(("kind",), (0, 0))[0]
    base = next(
        (d for d in loaded.documents if d.positions.get(("kind",), (0, 0))[0] == kind_line), None
    )
    if loaded.errors or base is None:
        return f"{doc.file} is not plain YAML the fix can edit"
    # The edits' paths name the same nodes in the file as in the render: every node on
    # them the render has is on the line the file writes it (columns of a list item or
    # a flow mapping's key are counted apart).
    for on in (t.path, *(e.path for e in t.fix.edits)):
        for n in range(1, len(on) + 1):
            at = doc.positions.get(on[:n])
            if at is not None and base.positions.get(on[:n], (0, 0))[0] != at[0]:
                return f"{doc.file} does not write the object as it is rendered"
    return InPlace(f, t.fix, doc.file, kind_line)
