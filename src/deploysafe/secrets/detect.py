"""Find secrets in text: token formats, then password-like settings with literal values.

The pipeline per file: a cheap keyword prefilter decides which token regexes run at all;
each regex runs once over the whole text (all are linear); hits are filtered by entropy,
placeholder and template recognition and documented sample keys; overlapping hits keep
the most specific type. Separately, settings whose *name* says credential (password,
client_secret, API_KEY ...) are parsed with the quoting rules of the file's type, and their
literal values are judged: a reference or placeholder is fine, a well-known default is a
practice-5 finding, anything else that looks real is a hard-coded credential.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import itertools
import math
import operator
import re
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import field
from typing import ClassVar

from deploysafe.frozen import record
from deploysafe.hashing import sha256
from deploysafe.pathnames import name_of, suffix_of
from deploysafe.secrets.keywords import KeywordIndex
from deploysafe.secrets.names import (
    KEY_CHARS,
    KEYWORD,
    credential_name,
    key_end,
    key_words,
    secret_word_name,
)
from deploysafe.secrets.patterns import BY_ID, TOKEN_TYPES, TokenType
from deploysafe.secrets.words import DEFAULT_PASSWORDS, PLACEHOLDER_MARKERS

# A regex never sees more than this many characters after a keyword hit (very long lines).
_VALUE_MAX = 500
_KEY_MAX = 80
_GENERIC_MAX = 200  # longest literal judged as a credential setting's value

# sha256 of documented sample credentials (vendor docs, emulators): never reported.
# Kept as hashes so that this file does not itself hold a credential-shaped string.
DOCUMENTED_SAMPLES = frozenset(
    {
        # Azurite / Azure storage emulator: the account key published in Microsoft's docs
        "0011cc25eb4320717494d2703e8cba85743e71b500283c21c8b88147992f9059",
        # API keys in firebase/firebase-android-sdk's tests and samples (public by design;
        # gitleaks allowlists the same keys)
        "f56e323494a6ffc2064e7a955908957d84f0755e5f975dabd64328d0359a8f7c",
        "2037abcaffb2b77785da716cf7ccff4ff4d00c4ea930db0167b7d71f50af7eb4",
        "3f370c9dd8225c63b5c77de1f785edc9712958f18bb612d5fa2e0ae33aeca682",
        "e4a5542bb7fd7b67e943c71ad29c34b5972c9840597e7eda53e666f44d5da0b9",
        "a19f89ab3555eac10c40741f6df79ecf0935998f15569f8db9d67bce0181fff6",
        "0b476bdf9acf2123d547b5ae76f1e59884d8ec9553ee0c47e9f31fd4768f3f3c",
        "eb540d2b6ee2a0a47c5779bc8a0141784c6b753840d4c6f4e2428a6e86e9e0b1",
        "37f8f09bdf12c2f2eae4ead7273a62ddb0c23459cbf902892f282b57f7ed6619",
        "8731261cb72d86267a32a532ebd3df429e2144e5e4ced7e13568bc9e6c8fb1b1",
        "49f777db995e8260da7ca9ffdf0c08d66f0453e97ec967018baf2cdfe3b582d0",
        "27a9a42931dff7eb2f8434e20a9bce976ea364e7bee49187f19d5cfeca9c7045",
        "dc0fcf046c61640cbd1e8b999ada3262d722c2ca4bf42dceac999020ffdbb614",
        "4c98242dcadc8b29005c6b4aad526552d5ea1842149154c0694adeec75847583",
        "ea9bb1082cf95663f5faca23b8b15ef2aa0fce0a5c6df9c32dcb85b2e0a4513d",
        "3a8b61d0f636b007840c0d40ba12bcf48465dc054cdc1a68704a33521d84b665",
        "a6c814bc555ae62c7bd8b58ec07bf559c7ed3a009976a1e0acc9cef0d4473b41",
        # The search-only Algolia key of the public npm-search index (yarnpkg/berry#6201)
        "2f21fd9c81678e396751af8b2472e2bd209ff5ce38da144052fb6c024485982f",
        # The two example passwords of Microsoft's nuget.config reference
        "dba72c00f41f4e4c435e2491a5e1ce0140c7b5a6a498dc4847396b5e6368970c",
        "a0702bc91d699f600970f4dc4992b13ede1a29d49fa0942dd4bed2b5e4b1016e",
    }
)
# (AWS's documented sample keys end in EXAMPLE and are placeholders by their marker.)


class FileKind:
    """How values are written in a file type, which decides the quoting rules."""

    CONFIG = "config"  # YAML, JSON, .env, properties, INI, TOML, HCL: unquoted values count
    SHELL = "shell"  # shell, Dockerfile, Makefile: `NAME=value` and flags count unquoted
    CODE = "code"  # source code: only quoted literals are values (the rest are expressions)
    DOCS = "docs"  # prose: only quoted literals
    SKIP = "skip"  # lock files, minified bundles, source maps: no generic detection


_CONFIG_SUFFIXES = frozenset(
    [
        ".yaml",
        ".yml",
        ".json",
        ".jsonc",
        ".properties",
        ".ini",
        ".cfg",
        ".conf",
        ".toml",
        ".tfvars",
        ".hcl",
        ".tf",
        ".xml",
        ".config",
        ".env",
        ".npmrc",
        ".pypirc",
        ".netrc",
        ".cnf",
        ".plist",
        ".gradle",
        ".sbt",
        ".erb",
        ".j2",
        ".tpl",
        ".tmpl",
        ".template",
    ]
)
_SHELL_SUFFIXES = frozenset(
    [".sh", ".bash", ".zsh", ".ksh", ".fish", ".ps1", ".bat", ".cmd", ".mk"]
)
_DOCS_SUFFIXES = frozenset(
    [".md", ".markdown", ".rst", ".txt", ".adoc", ".html", ".htm", ".ipynb", ".tex"]
)
_SKIP_NAMES = frozenset(
    [
        "package-lock.json",
        "yarn.lock",
        "pnpm-lock.yaml",
        "poetry.lock",
        "Pipfile.lock",
        "go.sum",
        "Cargo.lock",
        "composer.lock",
        "Gemfile.lock",
        "uv.lock",
        "npm-shrinkwrap.json",
    ]
)
_SHELL_NAMES = frozenset({"Dockerfile", "Containerfile", "Makefile", "makefile", "GNUmakefile"})
_EXAMPLE_NAME = re.compile(
    r"(?i)(?:^|[._-])(?:example|sample|template|dist|tmpl|defaults?)(?:$|[._-])"
)


# Both are asked several times per file and per embedded file name (`application.yaml`),
# one file after the other: cached, as a path costs more to parse than the answer to look
# up, and a few hundred entries (a worker's memory would grow with the tree's paths).
@functools.lru_cache(maxsize=256)
def file_kind(path: str) -> str:
    name = name_of(path)
    if name in _SKIP_NAMES or name.endswith((".min.js", ".min.css", ".map", ".svg")):
        return FileKind.SKIP
    if name in _SHELL_NAMES or name.startswith(("Dockerfile.", "Containerfile.")):
        return FileKind.SHELL
    if name.endswith(".dockerfile"):
        return FileKind.SHELL
    if name == ".env" or name.startswith(".env.") or name.endswith(".env"):
        return FileKind.CONFIG
    suffix = suffix_of(name).lower()
    if suffix in _CONFIG_SUFFIXES:
        return FileKind.CONFIG
    if suffix in _SHELL_SUFFIXES:
        return FileKind.SHELL
    if suffix in _DOCS_SUFFIXES:
        return FileKind.DOCS
    return FileKind.CODE


@functools.lru_cache(maxsize=256)
def is_example_file(path: str) -> bool:
    """`.env.example`, `values.sample.yaml`, `config.template.json`: documented shapes."""
    return bool(_EXAMPLE_NAME.search(name_of(path)))


# ---------------------------------------------------------------- values


def entropy(s: str) -> float:
    """Shannon entropy in bits per character."""
    if not s:
        return 0.0
    n = len(s)
    return -sum(c / n * math.log2(c / n) for c in Counter(s).values())


_TEMPLATES = (
    re.compile(r"\$\{\{[^{}]{0,200}\}\}"),  # ${{ secrets.X }} (GitHub Actions)
    re.compile(r"\$\{[A-Za-z_][A-Za-z0-9_.:-]{0,100}(?::?[-=?+][^{}]{0,200})?\}"),  # ${VAR}
    re.compile(r"\$\([^()\n]{1,200}\)"),  # $(VAR), $(command)
    re.compile(r"\{\{-?[^{}]{0,300}-?\}\}"),  # {{ .Values.x }}, Jinja
    re.compile(r"\{%[^{}]{0,300}%\}"),  # Jinja statements
    re.compile(r"<%=?[^<>]{0,300}%>"),  # ERB
    re.compile(r"#\{[^{}]{0,200}\}"),  # Ruby/Groovy interpolation
    re.compile(r"\\#*\([A-Za-z_][^()\n]{0,200}\)"),  # CUE, Swift: \(x), raw \#(x)
    re.compile(r"%\([A-Za-z_][A-Za-z0-9_]{0,100}\)s"),  # Python %-format
    re.compile(r"<[A-Za-z][A-Za-z0-9 _./-]{0,100}>"),  # <your-token>
    re.compile(r"\[[A-Z][A-Z0-9 _-]{2,60}\]"),  # [PASSWORD]
    re.compile(r"ENC\[[A-Z0-9_]+,data:"),  # SOPS
)
_WHOLE_REFERENCE = re.compile(
    r"^(?:\$[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%|\{[A-Za-z_][A-Za-z0-9_.]*\}|"
    r"@[A-Za-z_][A-Za-z0-9_.-]*|!(?:Ref|Sub|GetAtt|ImportValue)\b.*|var\.[A-Za-z_][\w.]*|"
    r"local\.[A-Za-z_][\w.]*|data\.[A-Za-z_][\w.]*)$"
)
# Secret-manager references (the policy may add more).
MANAGER_REFERENCES = (
    "vault:",
    "ref+",
    "op://",
    "sm://",
    "awssm:",
    "awskms:",
    "gcpkms:",
    "azurekv:",
    "arn:aws:secretsmanager:",
    "arn:aws:ssm:",
    "secretsmanager:",
    "projects/",
    "keyvault:",
    "akv:",
    "doppler:",
    "infisical:",
    "bws:",
)
_SEQUENCES = ("abcdefghijklmnopqrstuvwxyz", "0123456789", "qwertyuiopasdfghjklzxcvbnm")


def is_reference(value: str, extra: Sequence[str] = ()) -> bool:
    """A value that points at a secret rather than holding one."""
    v = value.strip()
    if _WHOLE_REFERENCE.match(v) or is_manager_reference(v, extra):
        return True
    return any(t.search(v) for t in _TEMPLATES)


def is_manager_reference(value: str, extra: Sequence[str] = ()) -> bool:
    """A secret-manager URI (`vault:`, `op://` ..., or one the policy adds)."""
    low = value.strip().lower()
    return low.startswith(MANAGER_REFERENCES) or any(low.startswith(e.lower()) for e in extra)


def is_placeholder(value: str, patterns: Sequence[re.Pattern[str]] = ()) -> bool:
    """A value that stands in for a secret: markers, masks, one repeated character."""
    low = value.lower()
    if any(m in low for m in PLACEHOLDER_MARKERS):
        return True
    if len(set(low) - set(" \t")) <= 2:  # one character, or two: `****`, `xxxx-xxxx`
        return True
    alnum = "".join(c for c in low if c.isalnum())
    if len(alnum) >= 6 and any(alnum in s for s in _SEQUENCES):
        return True
    return any(p.search(value) for p in patterns)


def sample_hash(secret: str) -> str:
    return sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# ---------------------------------------------------------------- results


@record
class Hit:
    """A token of a known format."""

    type: TokenType
    secret: str
    line: int
    column: int
    offset: int  # in the text, as `line` and `column` are


@record
class Assignment:
    """A credential-named setting with a literal value."""

    key: str
    value: str
    line: int
    column: int  # of the value
    password_like: bool
    offset: int  # of the value in the text, as `line` and `column` are


@record
class Analysis:
    """The secrets one file's text holds."""

    tokens: list[Hit] = field(default_factory=list)
    credentials: list[Assignment] = field(default_factory=list)  # look real
    defaults: list[Assignment] = field(default_factory=list)  # well-known default values
    # Where the name keywords are in the text (as `keywords.name_spans` finds them), when
    # the keyword pass's offsets are the text's: for a reading of the same text that asks.
    names: list[tuple[int, int]] | None = field(default=None, compare=False, repr=False)
    # Every keyword and marker (`keywords.MARKERS`) the lowercased text holds.
    present: frozenset[str] = field(default=frozenset(), compare=False, repr=False)


@record
class DetectOptions:
    """What the policy file changes in detection."""

    types: tuple[TokenType, ...] = TOKEN_TYPES
    placeholders: tuple[re.Pattern[str], ...] = ()
    references: tuple[str, ...] = ()


_NO_POLICY = DetectOptions()


class _Lines:
    """Offsets in the joined text to 1-based (line, column)."""

    # Lookups that go back before the previous one, counted from the start again, before
    # the table of line starts is built: findings come mostly in ascending order, and most
    # files have few, where the table costs a Python-level pass over every line.
    _RESTARTS = 4

    def __init__(self, lines: Sequence[str] | None, text: str) -> None:
        self._lines = lines  # `text` split on "\n", split here when first asked for
        self.text = text
        self._starts: list[int] | None = None
        self._pos = 0  # the last offset looked up, on line `_line`
        self._line = 1
        self._restarts = 0

    @property
    def lines(self) -> Sequence[str]:
        if self._lines is None:
            self._lines = self.text.split("\n")
        return self._lines

    def line_of(self, offset: int) -> str:
        """The line that holds `offset`, read from the text: a file's lines are split only
        when something needs them all."""
        return self.text[self.text.rfind("\n", 0, offset) + 1 : _line_end(self.text, offset)]

    @property
    def starts(self) -> list[int]:
        if self._starts is None:
            # Line i starts after the lengths of the lines before it and i newlines.
            lengths = itertools.accumulate(map(len, self.lines))
            self._starts = [0, *map(operator.add, lengths, itertools.count(1))]
        return self._starts

    def at(self, offset: int) -> tuple[int, int]:
        if self._starts is None:
            if offset < self._pos:
                self._restarts += 1
                self._pos, self._line = 0, 1
            if self._restarts <= self._RESTARTS:
                # The newlines between the last lookup and this one: a C count.
                self._line += self.text.count("\n", self._pos, offset)
                self._pos = offset
                return self._line, offset - self.text.rfind("\n", 0, offset)
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1

    def offset(self, line: int, column: int) -> int:
        return self.starts[line - 1] + column - 1


def analyse(
    text: str,
    path: str,
    options: DetectOptions = _NO_POLICY,
    lines: Sequence[str] | None = None,
) -> Analysis:
    """Every secret in one file's text (`lines`, when given, are the text split on '\\n')."""
    where = _Lines(lines, text)
    low = text.lower()
    spans: list[tuple[int, int]] = []
    keywords, types_of = _Index.get(options.types)
    found = keywords.search(low)
    out = Analysis(names=found.names if len(low) == len(text) else None, present=found.present)
    if not found.present and len(low) == len(text) and "" not in types_of:
        return out  # no keyword and no marker: nothing below can find anything
    for hit, span in _tokens(text, low, path, options, types_of, found.tokens, found.present):
        if _overlaps(span, spans):
            continue
        spans.append(span)
        line, col = where.at(span[0])
        out.tokens.append(Hit(hit, text[span[0] : span[1]], line, col, span[0]))
    kind = file_kind(path)
    if kind == FileKind.SKIP:
        return out
    example = is_example_file(path)
    if "://" in found.present:
        out.defaults.extend(_url_defaults(text, where, spans))
    # `secret.yaml.j2`: a manifest template no Kubernetes rule reads, so its Secret's
    # values are read here, as a Secret that does not parse is.
    name = path.lower()
    template = name.endswith(_TEMPLATE_SUFFIXES)
    yaml = (name.rsplit(".", 1)[0] if template else name).endswith((".yaml", ".yml"))
    owned = _owned_lines(where, low, found.present, found.names, yaml, template)
    for line, col, key, raw, b64 in owned.loose:
        value = unquote(raw)
        plain = (decoded(value) if b64 else value) or value
        if not example and judge(key, plain, True, options) == "secret":
            out.credentials.append(Assignment(key, value, line, col, True, where.offset(line, col)))
    # PowerShell evaluates an unquoted right-hand side (`$Password = Read-Host ...`): only
    # quoted literals are values, as in source code.
    values_kind = FileKind.CODE if name.endswith(_POWERSHELL) else kind
    xml = 2 if name.endswith(".config") else int(name.endswith(_XML_SUFFIXES))
    for a_span, key, value, pw, quoted in _assignments(text, low, values_kind, xml, found.names):
        if _overlaps(a_span, spans):
            continue
        line, col = where.at(a_span[0])
        if line in owned.lines:
            continue
        if _in_comment(where.line_of(a_span[0]), col, kind) and not _generated(value):
            continue  # `# adminPassword: strongpassword`: a documented example setting
        verdict = judge(key, value, pw, options, quoted=quoted)
        if verdict == "default":
            out.defaults.append(Assignment(key, value, line, col, pw, a_span[0]))
        elif verdict == "secret" and not example:
            out.credentials.append(Assignment(key, value, line, col, pw, a_span[0]))
    return out


_POWERSHELL = (".ps1", ".psm1", ".psd1")
# Where a comment starts on a line, by file kind: at the line's start, or after a blank.
_LINE_COMMENTS = {
    FileKind.CONFIG: ("#", "//", ";", "<!--"),
    FileKind.SHELL: ("#", "::", "rem ", "REM "),
    FileKind.CODE: ("#", "//", "/*", "* ", "<!--"),
}
_TRAILING_COMMENT = re.compile(r"(?:^|[ \t])(?:#|//)")


def _in_comment(line: str, column: int, kind: str) -> bool:
    """Whether the text at `column` (1-based) of `line` is inside a comment: the line is a
    comment, or a `#`/`//` comment after a blank starts before it (configuration and shell
    files; in source code `#` and `//` also occur inside strings)."""
    if line.lstrip().startswith(_LINE_COMMENTS.get(kind, ())):
        return True
    if kind not in (FileKind.CONFIG, FileKind.SHELL):
        return False
    before = line[: column - 1]
    if "#" not in before and "//" not in before:
        return False  # the regex would try every position of a line that may be long
    m = _TRAILING_COMMENT.search(before)
    return (
        m is not None
        and before[: m.start()].count('"') % 2 == 0
        and (before[: m.start()].count("'") % 2 == 0)
    )


_TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".tpl", ".tmpl", ".gotmpl", ".template", ".erb")


_KIND_SECRET = re.compile(r"^kind:\s*[\"']?Secret[\"']?\s*$")
# Any case, any indentation: what a text reading of a manifest Kubernetes would reject sees.
_KIND_SECRET_LOOSE = re.compile(r"^[ \t]*kind:[ \t]*[\"']?secret[\"']?[ \t]*$", re.I | re.M)
_DATA_KEY = re.compile(r"(?:data|stringData):[ \t]*(?:#.*)?$")
_ENTRY = re.compile(
    r"^[ \t]*[\"']?(?P<k>[A-Za-z0-9._-]{1,253})[\"']?[ \t]*:[ \t]*(?P<v>\S.*?)[ \t]*$"
)


@record
class _Owned:
    """What the settings pass leaves alone, and the Secret values only a text reading finds."""

    lines: set[int] = field(default_factory=set)
    # (line, column, key, value, base64) of `data`/`stringData` entries in a Secret that
    # does not parse as one (tab indentation, `kind: secret`): DS310 never sees them.
    loose: list[tuple[int, int, str, str, bool]] = field(default_factory=list)


# A `kind: secret` line of the lowercased text, matched from the line's start.
_KIND_SECRET_LINE = re.compile(r"[ \t]*kind:[ \t]*[\"']?secret[\"']?[ \t]*$", re.M)


def _has_secret_kind(low: str, names: list[tuple[int, int]]) -> bool:
    """A `kind: secret` line (any case, any indentation) in the file. `names`: where the
    name keywords of `low` are. The `secret` of such a line is one of them (the blank, `:`
    or quote before it is in no name keyword, so no match before it overlaps it): only the
    lines holding one are read, where a regex over every byte costs more (CRD schemas say
    `secret` on a few lines, and are most of a repository's bytes)."""
    return any(
        end - start == 6
        and low.startswith("secret", start)
        and _KIND_SECRET_LINE.match(low, low.rfind("\n", 0, start) + 1)
        for start, end in names
    )


def _owned_lines(
    where: _Lines,
    low: str,
    present: Collection[str],
    names: list[tuple[int, int]],
    yaml: bool,
    template: bool = False,
) -> _Owned:
    """Lines the settings pass leaves to structural rules: SealedSecret `encryptedData`
    (ciphertext, not a secret) and a Kubernetes Secret's `data`/`stringData` (DS310 reads
    them when the document is YAML that parses; otherwise, in a .yaml file or a manifest
    template such as `secret.yaml.j2`, which no Kubernetes rule reads, they are returned as
    loose). `present`: the keywords and markers `low` holds; `names`: where its name
    keywords are."""
    sealed = "encrypteddata:" in present
    secret = "secret" in present and _has_secret_kind(low, names)
    out = _Owned()
    if not sealed and not secret:
        return out
    lines = where.lines
    start = 0
    for end in [*(i for i, ln in enumerate(lines) if ln.startswith("---")), len(lines)]:
        doc = lines[start:end]
        tabs = any(ln.startswith("\t") for ln in doc)
        # A document that parses (no tab indentation) is a Secret only by a top-level
        # `kind:`; an indented one belongs to another object (a Kyverno `generate:` rule, a
        # chart's values), which DS310 and the settings pass read as what they are.
        kinds = (
            [ln for ln in doc if _KIND_SECRET_LOOSE.match(ln) and (tabs or ln[:1] not in " \t")]
            if secret
            else []
        )
        strict = any(_KIND_SECRET.match(ln) for ln in kinds) and not tabs and not template
        loose = yaml and bool(kinds) and not strict
        # `data:` no deeper than `kind:`: the Secret's own, not a nested one
        top = min(len(ln) - len(ln.lstrip()) for ln in kinds) if loose else 0
        indent: int | None = None
        child: int | None = None  # the indentation of the data map's own entries
        b64 = False
        for n, ln in enumerate(doc, start + 1):
            stripped = ln.lstrip()
            ind = len(ln) - len(stripped)
            if indent is not None:
                if stripped and not stripped.startswith("#") and ind <= indent:
                    indent = None
                else:
                    out.lines.add(n)
                    if loose and stripped and not stripped.startswith("#"):
                        child = ind if child is None else child
                        # Deeper lines are a block scalar's text or a nested map: not keys.
                        m = _ENTRY.match(ln) if ind == child else None
                        if m is not None:
                            out.loose.append((n, m.start("v") + 1, m["k"], m["v"], b64))
                    continue
            if (sealed and stripped.startswith("encryptedData:")) or (
                (strict or loose) and ind <= top and _DATA_KEY.match(stripped) is not None
            ):
                out.lines.add(n)
                indent, child, b64 = ind, None, stripped.startswith("data:")
        start = end + 1
    return out


_PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)
# PEM labels of public material: certificates, their requests and revocation lists, keys
# that are public by name.
_PUBLIC_PEM = frozenset(
    {
        "CERTIFICATE",
        "TRUSTED CERTIFICATE",
        "X509 CERTIFICATE",
        "CERTIFICATE REQUEST",
        "NEW CERTIFICATE REQUEST",
        "X509 CRL",
        "PKCS7",
        "PUBLIC KEY",
        "RSA PUBLIC KEY",
    }
)
# What openssl and CA bundles write around the blocks: comments and `subject=` lines.
_PEM_NOTES = re.compile(r"(?m)^[ \t]*(?:#.*|(?:subject|issuer)=.*|Bag Attributes.*|[ \t]*)$")


def public_certificate(text: str) -> bool:
    """Text that holds PEM blocks of public material only (a CA bundle, `tls.crt`,
    `ca.crt`): nothing secret, whatever the file or key is called."""
    blocks = list(_PEM_BLOCK.finditer(text))
    if not blocks or any(b[1] not in _PUBLIC_PEM for b in blocks):
        return False
    rest = _PEM_BLOCK.sub("", text)
    return _PEM_NOTES.sub("", rest).strip() == ""


def unquote(value: str) -> str:
    """The value without one pair of matching quotes around it."""
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def decoded(value: str) -> str | None:
    """Base64 text decoded to UTF-8, or None when it is not that. Line breaks are ignored,
    as the API server's decoder does (kustomize wraps Secret data at 70 characters)."""
    try:
        return base64.b64decode("".join(value.split()), validate=True).decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _overlaps(span: tuple[int, int], spans: Iterable[tuple[int, int]]) -> bool:
    return any(span[0] < e and s < span[1] for s, e in spans)


_TypesOf = dict[str, list[int]]  # keyword -> indexes of the types it selects


class _Index:
    """The keyword index of a set of types: keyed by the identity of the types tuple,
    which is kept alive with it (hashing 88 dataclasses per file would cost more than the
    search). A few are kept: a worker process receives its settings anew with each chunk
    of files, an equal tuple each time, and every one kept would hold 88 types."""

    built: ClassVar[dict[int, tuple[tuple[TokenType, ...], KeywordIndex, _TypesOf]]] = {}
    _KEEP = 4

    @classmethod
    def get(cls, types: tuple[TokenType, ...]) -> tuple[KeywordIndex, _TypesOf]:
        found = cls.built.get(id(types))
        if found is not None and found[0] is types:
            return found[1], found[2]
        index: _TypesOf = {}
        for i, t in enumerate(types):
            for k in t.keywords:
                index.setdefault(k, []).append(i)
        # An ASCII literal lowers to what the keyword pass finds in any text that holds it.
        literals = {t.literal.lower() for t in types if t.literal and t.literal.isascii()}
        keywords = KeywordIndex.get(tuple(sorted(index)), tuple(sorted(literals)))
        if len(cls.built) >= cls._KEEP:
            cls.built.clear()
        cls.built[id(types)] = (types, keywords, index)
        return keywords, index


def _tokens(
    text: str,
    low: str,
    path: str,
    options: DetectOptions,
    index: _TypesOf,
    seen: dict[str, list[int]],
    present: Collection[str],
) -> Iterable[tuple[TokenType, tuple[int, int]]]:
    # `seen`: keyword -> offsets of its last character. lower() keeps offsets for almost all
    # text; where it does not (a few Unicode letters), every regex runs over the whole text.
    # `present`: the keywords and markers `low` holds; `index`: `options.types`' by keyword.
    same = len(low) == len(text)
    chosen = set(index.get("", ()))
    for k in seen:
        chosen.update(index[k])
    types = options.types
    pem = _pem_blocks(text) if "-----begin " in present else None
    code = file_kind(path) == FileKind.CODE
    for i in sorted(chosen):
        t = types[i]
        if t.path is not None and not t.path.search(path.replace("\\", "/")):
            continue
        matches: Iterable[re.Match[str]]
        if t.multiline or not same or "" in t.keywords:
            if not _holds(text, t.literal, present):
                continue
            matches = t.pattern.finditer(text)
        else:
            # Only the lines that hold one of the type's keywords.
            ends = [e for k in t.keywords if k not in t.word_start for e in seen.get(k, ())]
            for k in t.word_start:
                # Where no character of [A-Za-z0-9_] comes before the keyword (`s.` ends
                # thousands of words a file: tested inline, not by a call each).
                n = len(k)
                ends += [e for e in seen.get(k, ()) if e < n or text[e - n] not in _WORD_CHARS]
            matches = (m for a, b in _windows(text, ends) for m in t.pattern.finditer(text, a, b))
        for m in matches:
            span = t.span(m)
            secret = text[span[0] : span[1]]
            if pem is not None and _inside(pem, span[0]):
                continue  # base64 of a certificate or key (`EAAA...` is no Square token)
            if code and secret.startswith(t.quoted_in_code) and not _in_string(text, span[0]):
                continue
            if _keep(t, secret, m, options):
                yield t, span


def _holds(text: str, literal: str, present: Collection[str]) -> bool:
    """Whether `text` holds `literal` (an empty one is in every text). An ASCII literal's
    lowercase is first looked up among the keyword pass's finds: a multiline type's keyword
    in a CRD's schema would otherwise send megabytes to a second scan."""
    if literal.isascii() and literal.lower() not in present:
        return not literal
    return literal in text


def _pem_blocks(text: str) -> tuple[list[int], list[int]] | None:
    """Where the PEM blocks start and end (`-----BEGIN ...-----` to the next `-----END `);
    None when the text has none."""
    at = text.find("-----BEGIN ")
    if at < 0:
        return None
    starts: list[int] = []
    ends: list[int] = []
    while at >= 0:
        end = text.find("-----END ", at)
        if end < 0:
            break
        starts.append(at)
        ends.append(end)
        at = text.find("-----BEGIN ", end)
    return starts, ends


def _inside(blocks: tuple[list[int], list[int]], at: int) -> bool:
    """Whether `at` is past a block's start and before its end (a match at the start is
    the block itself: a private key)."""
    i = bisect.bisect_left(blocks[0], at) - 1
    return i >= 0 and at < blocks[1][i]


def _in_string(text: str, at: int) -> bool:
    """Whether `at` is inside a string literal on its line (quotes before it, up to
    _LOOK_BACK characters back: a minified line is one of millions)."""
    start = max(0, at - _LOOK_BACK)
    before = text[max(start, text.rfind("\n", start, at) + 1) : at]
    return before.count('"') % 2 == 1 or before.count("'") % 2 == 1 or "`" in before


_LOOK_BACK = 200


# [A-Za-z0-9_]: what may not come before a word-start keyword (a regex's `(?<![A-Za-z0-9_])`)
_WORD_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _windows(text: str, ends: list[int]) -> list[tuple[int, int]]:
    """The lines holding these offsets, each once (linear: a hit inside the last line found
    is not looked up again, so one huge line costs one pass)."""
    out: list[tuple[int, int]] = []
    last = -1
    for end in sorted(ends):
        if end < last:
            continue
        a, b = text.rfind("\n", 0, end) + 1, _line_end(text, end)
        out.append((a, b))
        last = b
    return out


def _line_end(text: str, pos: int) -> int:
    end = text.find("\n", pos)
    return len(text) if end < 0 else end


def _keep(t: TokenType, secret: str, m: re.Match[str], options: DetectOptions) -> bool:
    if t.entropy and entropy(secret) < t.entropy:
        return False
    if sample_hash(secret) in DOCUMENTED_SAMPLES:
        return False
    if not t.markers_ok and is_placeholder(secret, options.placeholders):
        return False
    if t.check is not None and not t.check(secret):
        return False
    if t.id in ("url-credentials", "curl-basic-auth"):
        return _credential_pair(m, secret, options)
    if t.id == "authorization-header":
        return not is_reference(secret, options.references) and _mixed_enough(secret)
    return True


def _mixed_enough(secret: str) -> bool:
    """Letters with digits, or letters with several kinds of symbols: not a word list."""
    if not any(c.isalpha() for c in secret):
        return False
    if any(c.isdigit() for c in secret):
        return True
    return len({c for c in secret if not c.isalnum() and c not in "-_./ "}) >= 3


def _generated(value: str) -> bool:
    """Random-looking: long enough, letters with digits, no placeholder marker."""
    return (
        len(value) >= 8
        and entropy(value) >= 3.0
        and _mixed_enough(value)
        and any(c.isdigit() for c in value)
        and not is_placeholder(value)
        and not _sequential(value)
    )


_HOST_PLACEHOLDERS = ("example.com", "example.org", "example.net", "localhost", "127.0.0.1")


def _credential_pair(m: re.Match[str], password: str, options: DetectOptions) -> bool:
    """user:password in a URL or a curl flag: a real-looking password, not a template."""
    user = m.group("u") or ""
    if is_reference(password, options.references) or is_reference(user, options.references):
        return False
    if "brace" in m.re.groupindex and (m.start("s") < 0 or m.group("brace")):
        # `-u KEY:` (the key is the user) or `{value}`: only a generated-looking value counts,
        # never a `{name}` template or a user name.
        return _generated(password)
    if password.startswith("$") or user.startswith("$") or "%" in password[:1]:
        return False
    if password.lower() in DEFAULT_PASSWORDS or password.lower() == user.lower():
        return False  # a default pair: practice 5's business, from the settings pass
    if "host" in m.re.groupindex:
        host = (m.group("host") or "").lower()
        if host.startswith(_HOST_PLACEHOLDERS) or host.endswith(_HOST_PLACEHOLDERS):
            return False
        scheme = m.group("scheme").lower()
        if scheme in ("git+ssh", "ssh") and not password:
            return False
    if _stand_in(password):
        return False
    return len(password) >= 4 and not is_placeholder(password, options.placeholders)


# A variable's or a command's substitution inside a value (not `p${e]nob(ody`: no name ends
# there as the shell reads one).
_SUBSTITUTION = re.compile(r"\$\{[A-Za-z_]\w*(?:[}:#%/?+=-]|$)|\$\([A-Za-z_]")


# A date or a time (`passwordMtime: "2006-01-02T15:04:05Z"`): when, not what.
_TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(?:[Zz]|[+-]\d{2}:?\d{2})?$"
)


def _stand_in(value: str) -> bool:
    """The name of what goes there, in capitals as an environment variable's, is no value:
    `https://USERNAME:PERSONAL_ACCESS_TOKEN@github.com`, `--from-literal=pw=CLIENT_PASSWORD1`."""
    return _SCREAMING.fullmatch(value) is not None and any(w in value for w in _CREDENTIAL_WORDS)


_SCREAMING = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_CREDENTIAL_WORDS = ("PASS", "PWD", "TOKEN", "SECRET", "KEY")


def _url_defaults(text: str, where: _Lines, spans: list[tuple[int, int]]) -> list[Assignment]:
    """Well-known default passwords in URLs (`mysql://root:password@db/app`): a default
    credential (practice 5), where any other password in a URL is a leaked one."""
    out = []
    ends = [m.end() for m in _SCHEME_SEP.finditer(text)]
    # Only the lines holding `://` and `@` (the regex would try a scheme at every letter).
    windows = [(a, b) for a, b in _windows(text, ends) if text.find("@", a, b) >= 0]
    pattern = _URL_CREDENTIALS.pattern
    for m in (m for a, b in windows for m in pattern.finditer(text, a, b)):
        password, user = m.group("s"), m.group("u") or ""
        host = m.group("host").lower()
        if not _default_like(password) or host.startswith(_HOST_PLACEHOLDERS):
            continue
        if host.endswith(_HOST_PLACEHOLDERS) or host in ("host", "hostname") or user[:1] == "$":
            continue
        span = m.span("s")
        line_start = text.rfind("\n", 0, span[0]) + 1
        if text[line_start : span[0]].lstrip().startswith(("#", "//", "--", ";")):
            continue  # a commented example (`# format: postgresql://login:password@host`)
        if _overlaps(span, spans):
            continue
        line, col = where.at(span[0])
        key = f"the login in a {m.group('scheme').lower()} URL"
        out.append(Assignment(key, password, line, col, True, span[0]))
    return out


_URL_CREDENTIALS = BY_ID["url-credentials"]
_SCHEME_SEP = re.compile("://")


# ---------------------------------------------------------------- credential-named settings

_OPS = re.compile(
    r"[\"'`]?\]?[ \t]{0,20}(?P<op>:::=|::=|:=|\?=|=>|===|!==|==|!=|=|:(?!:)|,)[ \t]{0,20}"
    r"(?P<pre>[@brfuBRFU](?=[\"'`]))?(?P<v>\"[^\"\n]{0,500}\"|'[^'\n]{0,500}'|`[^`\n]{0,500}`|"
    r"[^\s\"'`,;#]{1,201})"
)
# A quoted literal compared with the key that follows it, on the same line.
_COMPARED = re.compile(
    r"(?P<v>\"[^\"\n]{1,200}\"|'[^'\n]{1,200}')[ \t]{0,20}(?:===|!==|==|!=)[ \t]{0,20}\Z"
)
# XML settings: `<password>value</password>` (Maven settings.xml) and
# `<add key="ApiToken" value="..."/>` (NuGet.config, app.config, web.config: .NET's form).
_XML_SUFFIXES = (".xml", ".config", ".props", ".targets", ".csproj", ".vbproj", ".fsproj")
_XML_ELEMENT = re.compile(r">[ \t]{0,20}(?P<v>[^<>\s][^<>\n]{0,199}?)[ \t]{0,20}</")
_XML_ATTR = re.compile(
    r"[\"'][ \t]{1,20}value[ \t]{0,5}=[ \t]{0,5}(?P<q>[\"'])(?P<v>[^\"'\n]{1,200})(?P=q)"
)
_PERCENT_VAR = re.compile(r"%[A-Za-z_][A-Za-z0-9_]{0,100}%")
# More words after an unquoted `key: value` on its line.
_PROSE_AFTER = re.compile(r"[ \t]+[A-Za-z][A-Za-z'-]*[ \t,.]")
_FLAG_OPS = frozenset({"=", ":", ":=", "::=", ":::=", "?=", "=>"})


def _assignments(
    text: str, low: str, kind: str, xml: int, names: list[tuple[int, int]]
) -> Iterable[tuple[tuple[int, int], str, str, bool, bool]]:
    """(span of the value, key, value, password-like, quoted) of credential-named settings.
    `xml`: 1 reads element values, 2 also .NET's `<add key=… value=…/>` (a `.config` file).
    `names`: the name keywords found in `low`, used when its offsets are the text's."""
    seen_ends: set[int] = set()
    cores = names if len(low) == len(text) else [m.span() for m in KEYWORD.finditer(text)]
    for start, end in cores:
        # The whole key around the keyword (at most _KEY_MAX characters each way).
        end = key_end(text, end, _KEY_MAX)
        if end in seen_ends:
            continue
        seen_ends.add(end)
        a = _OPS.match(text, end)
        if a is None and not xml and text.rfind("=", max(0, start - _KEY_MAX - 22), start) < 0:
            # Neither `key = value` nor a `==` before the key: most keyword hits (prose, a
            # schema's `secretRef:`), decided before the key is read in full and judged.
            continue
        left = text[max(0, start - _KEY_MAX) : start]
        start -= len(left) - len(left.rstrip(KEY_CHARS))
        key = text[start:end].strip(".-")
        pw = credential_name(key)
        if pw is None:
            continue
        if start > 0 and text[start - 1] == ":":
            continue  # a segment of `arn:aws:...:secret:name` or `a:b:c`, not a setting's name
        if text[start - 1 : start] == "$" and _in_template_action(text, start):
            continue  # `{{ $prevSecret := (lookup ...) }}`: a Go template variable
        if text[start - 1 : start] == "/" and text[max(0, start - 9) : start - 1] == "checksum":
            continue  # Helm's `checksum/secret` annotation: a digest of the Secret's content
        quoted_key = start > 0 and text[start - 1] in "\"'`"
        if (xml == 2 and quoted_key) or (xml and text[start - 1 : start] == "<"):
            x = _XML_ATTR.match(text, end) if quoted_key else _XML_ELEMENT.match(text, end)
            if x is not None:
                v = x.group("v")
                # Maven's encrypted `{…}`; NuGet expands `%NAME%` from the environment
                if not (v.startswith("{") and v.endswith("}")) and not _PERCENT_VAR.search(v):
                    yield x.span("v"), key, v, pw, True
                continue
        if a is None:
            if quoted_key or not _compared_before(text, start):
                continue
            r = _COMPARED.search(text, max(0, start - _GENERIC_MAX - 30), start)
            if r is not None:
                # `"literal" == password`: a hard-coded password check, written backwards
                yield (r.start("v") + 1, r.end("v") - 1), key, r.group("v")[1:-1], pw, True
            continue
        op, raw = a.group("op"), a.group("v")
        quoted = raw[:1] in "\"'`" and len(raw) >= 2 and raw[-1] == raw[0]
        if raw[:1] in "\"'`" and not quoted:
            continue
        if not quoted and raw[:1] in "{[|>&*!":
            continue  # a YAML/JSON structure, block scalar, anchor or tag: not a value
        if not _value_allowed(kind, op, quoted, quoted_key, text):
            continue
        value = raw[1:-1] if quoted else _trim(raw)
        if not quoted and op == ":" and _PROSE_AFTER.match(text, a.end()):
            continue  # `Secrets: committed tokens, ...`: a phrase, not a setting
        if len(value) > _GENERIC_MAX:
            continue  # generated blobs, not a setting's value (long tokens have formats)
        if op == "," and (
            not _mixed_enough(value)
            or _listed(text, start - 1)
            or _MORE_ARGUMENTS.match(text, a.end("v"))
        ):
            # ("name", "other-name"), ["token", "aws_key_v2"], make("my-secret", "c1", url):
            # names and arguments, not a (name, default) pair
            continue
        if not pw and text[start - 1 : start] == "/" and _DNS_LABEL.match(value):
            continue  # `example.io/auth-secret: basic-auth`: an annotation naming a Secret
        if op == ":" and text[start - 1 : start] == "/" and a.start("v") == a.end("op"):
            continue  # `docker.io/org/credential-updater:1.0.8`: an image and its tag
        vstart = a.start("v") + (1 if quoted else 0)
        yield (vstart, vstart + len(value)), key, value, pw, quoted


def _in_template_action(text: str, at: int) -> bool:
    """Whether `at` is inside a `{{ ... }}` action opened earlier on its line."""
    line = text.rfind("\n", 0, at) + 1
    return text.rfind("{{", line, at) > text.rfind("}}", line, at)


def _compared_before(text: str, at: int) -> bool:
    """Whether a comparison operator (and at most 20 blanks) ends right before `at`: what
    `_COMPARED` needs, found without its search of the 230 characters before a key."""
    before = text[max(0, at - 22) : at]
    op = before.rstrip(" \t")
    return len(before) - len(op) <= 20 and op.endswith(("==", "!="))


_MORE_ARGUMENTS = re.compile(r"[ \t]*,")
_DNS_LABEL = re.compile(r"^[a-z0-9](?:[-a-z0-9]{0,61}[a-z0-9])?$")


def _listed(text: str, quote: int) -> bool:
    """The string whose opening quote is at `quote` is an element of a list, set or tuple
    literal, or a later argument: not the name half of a (name, default) call."""
    before = text[max(0, quote - 40) : quote].rstrip()
    if before.endswith(("[", "{", ",")):
        return True
    # `(` opens a call after a name (`get(`), a tuple anywhere else (`= (`)
    return before.endswith("(") and not before[:-1].rstrip()[-1:].replace("_", "a").isalnum()


def _trim(raw: str) -> str:
    """An unquoted value without the punctuation that ends its statement."""
    value = raw.rstrip(".,;")
    for close, open_ in ((")", "("), ("]", "["), ("}", "{")):
        while value.endswith(close) and value.count(close) > value.count(open_):
            value = value[:-1].rstrip(".,;")
    return value


def _value_allowed(kind: str, op: str, quoted: bool, quoted_key: bool, text: str) -> bool:
    if op == ",":
        return quoted and quoted_key  # ("api_token", "value"): a default in a call
    if op in ("==", "!=", "===", "!==") and not quoted:
        return False
    if quoted:
        return True
    if kind == FileKind.CONFIG:
        return op in _FLAG_OPS
    if kind == FileKind.SHELL:
        return op in ("=", ":")
    return False


_NOT_VALUES = frozenset(
    [
        "true",
        "false",
        "null",
        "none",
        "nil",
        "yes",
        "no",
        "on",
        "off",
        "undefined",
        "required",
        "optional",
        "string",
        "bool",
        "boolean",
        "int",
        "integer",
        "number",
        "object",
        "array",
        "str",
        "bytes",
        "secret",
        "password",
        "inherit",  # a reusable workflow call's `secrets: inherit`
    ]
)
_ATTRIBUTE = re.compile(r"^(?:[A-Za-z_][\w]*\.)+[A-Za-z_][\w]*$")  # a.b.c
_INDIRECT = re.compile(
    # a call, also one cut where its string argument starts (`get_secret_value(f"hub.{k}")`)
    r"(?i)^(?:[A-Za-z_][\w]*\.)+[A-Za-z_][\w]*(?:\(.*\))?$|[\w\]]\((?:.*\)|[brfu]?$)|"
    r"^[A-Za-z_][\w.]*\[|"
    r"process\.env|os\.environ|getenv|\benv\(|config\.|settings\.|^/run/secrets/|"
    r"^/var/run/secrets/|^file:|^https?://[^@\s]*$|^\.{0,2}/"
)
_PATHISH = re.compile(r"(?i)\.(?:pem|key|crt|cer|der|p12|pfx|jks|json|txt|yaml|yml|env|keystore)$")


_GRAMS = tuple({seq[i : i + 8] for seq in _SEQUENCES for i in range(len(seq) - 7)})


def _sequential(value: str) -> bool:
    """`abcdefgh...`, `12345678`: a run typed by hand, not a generated secret."""
    low = value.lower()
    return any(g in low for g in _GRAMS)


# A name: a Kubernetes object's (`my-release-secret`) or a key's (`DATABASE_URL`, as an
# ExternalSecret's `secretKey` holds). What a secret-named key that points at a secret holds.
_OBJECT_NAME = re.compile(r"^[a-z0-9]+(?:[-._][a-z0-9]+)+$|^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
# A dotted lowercase name (`spring.datasource.password`, `db.shop.internal`): a setting's name
# or a host, even quoted.
_DOTTED_NAME = re.compile(r"^[a-z_][a-z_-]*(?:\.[a-z_][a-z_-]*)+$")


# A name built of segments, one of them a credential word: an environment variable's
# (`REDIS_PASSWORD`), a command's (`argocd-git-ask-pass`), a secret manager entry's
# (`signing-key:passphrase`). The value names the credential; it is not one.
_SEGMENTED = re.compile(r"^[a-z0-9]+(?:[-._:/][a-z0-9]+)+$|^[A-Z0-9]+(?:[-_.:/][A-Z0-9]+)+$")
_SEGMENT_SPLIT = re.compile(r"[-._:/]")
_SEGMENT_WORDS = frozenset(
    {
        *("pass", "password", "passwd", "passphrase", "pwd", "secret", "secrets"),
        *("token", "key", "auth", "cred", "creds", "credential", "credentials"),
    }
)
# `namespace/name`: how Kubernetes settings and annotations point at a Secret.
_NAMESPACED = re.compile(r"^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?/[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?$")
# A Kubernetes qualified name with a domain prefix: an annotation or label key, a Secret type
# (`cert-manager.io/allow-direct-injection`, `kubernetes.io/service-account-token`), which
# code names after the Secret it marks.
_QUALIFIED = re.compile(
    r"^(?:[a-z0-9](?:[-a-z0-9]*[a-z0-9])?\.)+[a-z]{2,}/[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)


# An identifier in camelCase or with digits: `somePassword`, `accessToken`, `token1`.
_IDENTIFIER = re.compile(r"^[A-Za-z][A-Za-z0-9]*$")
# `$name` or `$name:key`: a variable, or Argo CD's reference to a key of a Secret.
_DOLLAR_REFERENCE = re.compile(r"^\$[A-Za-z_][\w.-]*(?::[\w.-]+)?$")
# An action of a Go template, or one the value was cut in (`-token=write-{{ $t.name }}`).
_GO_TEMPLATE = re.compile(r"\{\{-?\s*[.$\w][^}]*\}\}|\{\{-?$")


def _a_name(v: str) -> bool:
    """A value that names a credential, a Secret, a variable or a pattern rather than
    holding one; or a stand-in that spells the credential's own word (`somePassword`)."""
    if v.startswith("^") and v.endswith("$"):
        return True  # a validation pattern: `^.{8,32}$`
    if _NAMESPACED.match(v) or _QUALIFIED.match(v) or _DOLLAR_REFERENCE.match(v):
        return True
    if _GO_TEMPLATE.search(v):
        return True
    if _IDENTIFIER.match(v):
        words = key_words(v)
        return len(words) > 1 and any(w in _SEGMENT_WORDS for w in words)
    if not _SEGMENTED.match(v):
        return False
    if ":" in v and not _SEGMENTED.match(v.partition(":")[0]):
        return False  # `admin:password`: a user and a password, not an entry's name
    return any(s.lower() in _SEGMENT_WORDS for s in _SEGMENT_SPLIT.split(v))


def _weak_secret(key: str, v: str) -> bool:
    """A secret- or token-named key whose value is judged as a password's: not when the key
    points at a Secret (`existingSecretKey`) or the value is a name, a `$variable` or a
    `YourApiToken` stand-in."""
    if not secret_word_name(key) or key.lower().startswith("existing"):
        return False
    return not (_OBJECT_NAME.match(v) or v.startswith("$") or v.lower().startswith("your"))


def _default_like(v: str) -> bool:
    """A well-known default, or one padded with digits (`changeme00000000`, `admin2024`)."""
    low = v.lower()
    return low in DEFAULT_PASSWORDS or (
        low[:1].isalpha() and low.rstrip("0123456789") in DEFAULT_PASSWORDS
    )


def judge(
    key: str, value: str, password_like: bool, options: DetectOptions, *, quoted: bool = False
) -> str | None:
    """'secret', 'default' (a well-known default password) or None (not a finding).

    A secret- or token-named key (`CLIENT_SECRET`, `API_TOKEN`) is judged as a password is:
    a weak literal there is still a credential. `quoted`: the value was a quoted literal, so
    a dotted value with digits or capitals (`"Tz8.qLm2.Vx4"`) is not an attribute reference."""
    v = value.strip()
    weak_ok = password_like or _weak_secret(key, v)
    if not v or (v.lower() in _NOT_VALUES and v.lower() not in DEFAULT_PASSWORDS):
        return None
    if _default_like(v):
        return "default"  # under any credential name: `signing_key: changeme0000`
    # Every test below answers None or passes the value on, in any order: the cheapest
    # first (a short value or a number is no credential, before a dozen regexes say why).
    if len(v) < (6 if weak_ok else 10) or v.isdigit() or " " in v:
        return None
    if v.startswith(("${", "$(")) or _SUBSTITUTION.search(v):
        # `${TOKEN:-${1}}`, `${PW:?set it}`, `$(openssl rand -hex 16)` cut at a blank, and
        # one inside a value (`:$(encode "$REDIS_PASSWORD")`): the shell makes it
        return None
    if _stand_in(v):
        return None
    attribute = _INDIRECT.search(v) and not (
        quoted and _ATTRIBUTE.match(v) and not _DOTTED_NAME.match(v)
    )
    if is_reference(v, options.references) or attribute or _PATHISH.search(v) or _a_name(v):
        return None
    if not any(c.isalnum() for c in v) or _TIMESTAMP.match(v):
        return None
    if is_placeholder(v, options.placeholders) or _sequential(v):
        return None
    if sample_hash(v) in DOCUMENTED_SAMPLES:
        return None
    if v.lower() in DEFAULT_PASSWORDS:
        return None
    if weak_ok:
        return "secret" if entropy(v) >= 2.0 else None
    if entropy(v) < 3.0 or not _mixed_enough(v):
        return None
    return "secret"
