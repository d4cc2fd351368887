"""Config files held as one string value (a ConfigMap's or a Secret's `collector.yaml`,
`application.properties`, `kiali.ini`): their settings, with lines, and which of them hold
a credential.

A text reading of such a value guesses its quoting rules from the key's name, which often
says nothing (`relay`, `config`); here the value is parsed as the format it is (YAML, JSON,
INI or Java properties) and every leaf setting is judged by its own name, as a setting in a
file of that type would be. Pure functions: the Kubernetes rules locate the lines.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator

import yaml

from deploysafe.frozen import record
from deploysafe.pathnames import name_of, suffix_of
from deploysafe.secrets.detect import DetectOptions, judge
from deploysafe.secrets.keywords import name_spans
from deploysafe.secrets.names import (
    KEY_CHARS,
    KEYWORD,
    credential_name,
    key_end,
    may_name_credential,
)

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

_MAX_NODES = 20_000  # aliases may repeat a subtree: stop walking past this many
_MAX_DEPTH = 64
_YAML = (".yaml", ".yml")
_INI = (".ini", ".cfg", ".conf", ".cnf")
_PROPERTIES = (".properties", ".env")
_AFTER_KEY = re.compile(r"[\"']?[ \t]{0,20}[:=]")
_SECTION = re.compile(r"^\s*\[[^\]\n]{1,200}\]\s*$")
_PAIR = re.compile(r"^(?P<ind>[ \t]*)(?P<k>[A-Za-z0-9_.\-/\[\]]{1,200})[ \t]*[=:][ \t]*(?P<v>.*)$")


@record
class Setting:
    """One leaf setting of an embedded file (1-based line and column in the value)."""

    key: str  # the dotted path: `extensions.bearertokenauth.token`
    name: str  # its last part, judged as a credential name: `token`
    value: str
    line: int
    column: int  # of the value's first character
    quoted: bool


@record
class Judged:
    """A setting of an embedded file with what `detect.judge` made of its value."""

    setting: Setting
    verdict: str  # 'secret' or 'default', as `detect.judge` says


# Asked twice of a value DS311 reads (by `credentials`, then by the rule for a judged
# one); a string keeps its hash, so a hit costs no pass over the text.
@functools.lru_cache(maxsize=8)
def config_format(name: str, text: str) -> str | None:
    """'yaml', 'json', 'ini' or 'properties' when `text` (the value of key `name`) is a
    config file of that format; None for anything else (a script, a template, one value)."""
    if "\n" not in text.strip():
        return None
    suffix = suffix_of(name_of(name)).lower()
    first = _first_body_line(text)
    if first is None:
        return None
    if suffix == ".json" or first.lstrip().startswith("{"):
        return "json"
    lines = text.splitlines()
    # (a section line holds a `[`: a text without one is not read line by line for it)
    if suffix in _INI or ("[" in text and any(_SECTION.match(ln) for ln in _body(lines))):
        return "ini"
    if suffix in _PROPERTIES or (
        "=" in first and all("=" in ln or ln[:1] in " \t" for ln in _body(lines))
    ):
        return "properties"
    if suffix in _YAML or any(":" in ln for ln in _body(lines)):
        return "yaml"
    return None


_HEAD = 4096


def _body(lines: Iterable[str]) -> Iterator[str]:
    """The lines that are neither blank nor comments."""
    return (ln for ln in lines if ln.strip() and not ln.lstrip().startswith(("#", ";")))


def _first_body_line(text: str) -> str | None:
    """The first line of `text` neither blank nor a comment, found in its head when the head
    holds one (a 200 kB JSON dashboard is decided at its first line): a head's lines are the
    text's own but for its last, which may be cut."""
    if len(text) > _HEAD:
        found = next(_body(text[:_HEAD].splitlines()[:-1]), None)
        if found is not None:
            return found
    return next(_body(text.splitlines()), None)


# A leaf setting before it is made a Setting: (its key's parts, value, line, column, quoted).
_Leaf = tuple[tuple[str, ...], str, int, int, bool]


def _setting(leaf: _Leaf) -> Setting:
    parts, value, line, column, quoted = leaf
    return Setting(".".join(parts), parts[-1], value, line, column, quoted)


def settings(text: str, name: str = "") -> tuple[Setting, ...] | None:
    """The leaf settings of an embedded config file, or None when it is not one."""
    fmt = config_format(name, text)
    if fmt is None:
        return None
    found = _leaves(text, fmt)
    return None if found is None else tuple(map(_setting, found))


def _leaves(
    text: str, fmt: str, wanted: Callable[[str], bool] | None = None
) -> Iterable[_Leaf] | None:
    """The leaf settings of a config file of format `fmt` (as `config_format` says).
    `wanted`: of a line format, only the settings on the lines it accepts."""
    if fmt in ("yaml", "json"):
        return _yaml_leaves(text)
    return _pairs(text, sections=fmt == "ini", wanted=wanted)


def credentials(
    text: str,
    name: str,
    options: DetectOptions,
    names: list[tuple[int, int]] | None = None,
) -> tuple[Judged, ...] | None:
    """The settings of an embedded config file whose name says credential and whose literal
    value is one (judged as `detect.judge` judges a setting); None when it is no config.
    `names`: where the name keywords are in `text` (`Analysis.names`), when known."""
    fmt = config_format(name, text)
    if fmt is None:
        return None
    if not _has_credential_key(text, names):
        return ()  # no credential-named key: not worth a parse (a 200 kB dashboard)
    # Line formats: a line with no credential word holds no credential-named key.
    found = _leaves(text, fmt, may_name_credential)
    if found is None:
        return None
    out = []
    # A Setting is made only for a credential name: a properties file's thousands of
    # other settings are read and passed by.
    for leaf in found:
        pw = credential_name(leaf[0][-1])
        if pw is None:
            continue
        s = _setting(leaf)
        verdict = judge(s.name, s.value, pw, options, quoted=s.quoted)
        if verdict is not None:
            out.append(Judged(s, verdict))
    return tuple(out)


def _has_credential_key(text: str, names: list[tuple[int, int]] | None = None) -> bool:
    """A credential-named key before a `:` or `=` somewhere: a linear pass before a parse
    (the keyword search, then the key read around each hit, as the text scanner does).
    `names`: the keyword hits, when a reading of the text already found them."""
    hits = names if names is not None else _name_hits(text)
    last = -1
    for hit, hit_end in hits:
        if hit < last:
            continue  # inside the key read around the previous hit
        left = text[max(0, hit - 80) : hit]
        start = hit - (len(left) - len(left.rstrip(KEY_CHARS)))
        end = key_end(text, hit_end, 80)
        last = end
        key = text[start:end].strip(".-")
        if _AFTER_KEY.match(text, end) and credential_name(key) is not None:
            return True
    return False


def _name_hits(text: str) -> list[tuple[int, int]]:
    low = text.lower()
    # The lowered text searched for the lowercase keywords is several times faster than a
    # case-insensitive search; a text whose length lowering changes keeps the latter.
    if len(low) == len(text):
        return name_spans(low)
    return [m.span() for m in KEYWORD.finditer(text)]


def _yaml_leaves(text: str) -> tuple[_Leaf, ...] | None:
    try:
        node = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError:
        return None
    if not isinstance(node, yaml.MappingNode):
        return None
    return tuple(_walk(node))


def _walk(root: yaml.Node) -> Iterator[_Leaf]:
    """Leaf settings in document order. Iterative: lists nest as deep as libyaml allows
    (1,000 levels) without lengthening the key path that _MAX_DEPTH bounds."""
    seen = 0
    stack: list[Iterator[tuple[yaml.Node, tuple[str, ...]]]] = [iter([(root, ())])]
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        node, path = item
        seen += 1
        if seen > _MAX_NODES:
            return
        if len(path) > _MAX_DEPTH:
            continue
        if isinstance(node, yaml.MappingNode):
            pairs = [
                (v, (*path, str(k.value))) for k, v in node.value if isinstance(k, yaml.ScalarNode)
            ]
            stack.append(iter(pairs))
        elif isinstance(node, yaml.SequenceNode):
            stack.append(iter([(v, path) for v in node.value]))
        elif isinstance(node, yaml.ScalarNode) and path and "\n" not in str(node.value):
            quoted = node.style in ("'", '"')
            line, column = node.start_mark.line + 1, node.start_mark.column + 1
            yield path, str(node.value), line, column + (1 if quoted else 0), quoted


def _pairs(
    text: str, *, sections: bool, wanted: Callable[[str], bool] | None = None
) -> Iterator[_Leaf]:
    section = ""
    for n, ln in enumerate(text.splitlines(), 1):
        stripped = ln.strip()
        if not stripped or stripped.startswith(("#", ";", "!")):
            continue
        if sections and _SECTION.match(ln):
            section = stripped[1:-1].strip()
            continue
        if wanted is not None and not wanted(ln):
            continue
        m = _PAIR.match(ln)
        if m is None:
            continue
        raw = m["v"].rstrip()
        col = m.start("v") + 1
        quoted = len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'"
        value = raw[1:-1] if quoted else raw
        parts = (section, m["k"]) if section else (m["k"],)
        yield parts, value, n, col + (1 if quoted else 0), quoted
