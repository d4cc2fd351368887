"""DS324: CI files and scripts pass a build secret as a build argument (`--build-arg`,
the `build-args:` input of docker/build-push-action and its kind)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from deploysafe.config.secrets import SecretsPolicy
from deploysafe.frozen import record
from deploysafe.lazy import on_first_use
from deploysafe.model import Document, KeyPath, Practice, Severity, Target, Violation
from deploysafe.pathnames import name_of
from deploysafe.rules.base import AutoFix, Context, Fix, LineEdit, Rule, Scope
from deploysafe.rules.text_analysis import analysis
from deploysafe.secrets.detect import (
    FileKind,
    analyse,
    file_kind,
    is_manager_reference,
    is_placeholder,
    judge,
    unquote,
)
from deploysafe.secrets.names import build_arg_secret_name, credential_name
from deploysafe.textlines import joined

# `--build-arg NAME[=value]`, `--build-arg=NAME[=value]` (docker, buildx, podman, buildah,
# kaniko, nerdctl, az acr build ...) and buildctl's `--opt build-arg:NAME=value`. The flag is
# enough: no other tool has it, and the command may sit on an earlier (folded) line.
_flag = on_first_use(
    r"(?<![\w-])(?:--build-arg(?:=|[ \t]+)|--opt(?:=|[ \t]+)build-arg:)"
    r"(?P<q>\\?[\"'])?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<eq>=)?"
)


# The `build-args:` input (docker/build-push-action, redhat-actions/buildah-build,
# int128/kaniko-action ...): a YAML key whose value is one NAME=value per line.
_input = on_first_use(r"^(?P<indent>[ \t]*(?:-[ \t]+)?)[\"']?build-args[\"']?[ \t]*:(?P<rest>.*)$")


_name_value = on_first_use(r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:[ \t]*=[ \t]*(?P<value>.*))?$")


# Names a value reads a secret from: $VAR, ${VAR}, $(VAR), ${{ secrets.X }}, ${{ env.X }}.
_reads = on_first_use(
    r"\$[({]?([A-Za-z_][A-Za-z0-9_]*)|\b(?:secrets|env)\.([A-Za-z_][A-Za-z0-9_]*)"
)


_github_secret = on_first_use(r"\$\{\{[^}]*\b(?:secrets\.|github\.token\b)")


_reference = on_first_use(
    r"\$\{\{.*?\}\}|\$\{[^}]*\}|\$\([^)]*\)|\$\$?[A-Za-z_][A-Za-z0-9_]*|%[A-Za-z_][A-Za-z0-9_]*%"
)


_url_credentials = on_first_use(r"://(?P<user>[^/@:]*)(?::(?P<password>[^/@]*))?@")


_comment_before = on_first_use(r"(?:^|\s)#")


_continuation = on_first_use(r"\\\r?\n")


# Files that hold build commands besides shell-like and config files.
_CI_NAMES = ("Jenkinsfile", "justfile", "Justfile", ".justfile")


@record
class BuildArg:
    """A build argument found in a file: its name, value, and where it is."""

    name: str
    value: str | None  # None: `--build-arg NAME` takes the value from the environment
    offset: int  # where the finding points, in the file text
    form: str  # "flag" (--build-arg) or "input" (build-args:)


def reads_files(path: str) -> bool:
    name = name_of(path)
    return file_kind(path) in (FileKind.SHELL, FileKind.CONFIG) or name.startswith(_CI_NAMES)


def _word(text: str, i: int, quote: str | None) -> str:
    """The shell word (or the rest of a quoted one) starting at `i`, on its line: quotes
    removed, `${{ }}`, `${}` and `$()` kept whole (they may hold spaces)."""
    out: list[str] = []
    n = text.find("\n", i)
    n = len(text) if n < 0 else n
    while i < n:
        c = text[i]
        if quote is not None and c == quote[-1]:
            break
        if quote is None and (c.isspace() or c in ";&|<>`"):
            break
        if c == "\\" and i + 1 < n:
            if quote is not None and text[i + 1] == quote[-1] and len(quote) == 2:
                break  # the escaped quote that opened it: YAML "\"..\""
            out.append(text[i + 1])
            i += 2
            continue
        if text.startswith("${{", i):
            end = text.find("}}", i, n)
            end = n if end < 0 else end + 2
        elif text.startswith(("${", "$("), i):
            end = _close(text, i + 1)
        elif quote is None and c in "\"'":
            close = text.find(c, i + 1, n)
            if close < 0:
                close = n
            out.append(text[i + 1 : close])
            i = close + 1
            continue
        elif quote is None and c == ")":
            break
        else:
            end = i + 1
        out.append(text[i:end])
        i = end
    return "".join(out)


def _close(text: str, i: int) -> int:
    """The index after the bracket that closes the one at `i` (or the end of the line)."""
    pairs = {"(": ")", "{": "}"}
    opener, closer = text[i], pairs[text[i]]
    depth = 0
    for j in range(i, len(text)):
        if text[j] == "\n":
            return j
        if text[j] == opener:
            depth += 1
        elif text[j] == closer:
            depth -= 1
            if depth == 0:
                return j + 1
    return len(text)


def flags(text: str) -> Iterator[BuildArg]:
    """Every `--build-arg` outside a comment, continuation lines joined."""
    joined = _continuation().sub(lambda m: " " * len(m.group()), text)
    for m in _flag().finditer(joined):
        line_start = joined.rfind("\n", 0, m.start()) + 1
        if _comment_before().search(joined, line_start, m.start()):
            continue
        value: str | None = None
        if m.group("eq"):
            value = _word(joined, m.end(), m.group("q"))
        yield BuildArg(m.group("name"), value, m.start(), "flag")


def inputs(lines: Sequence[str], starts: Sequence[int]) -> Iterator[BuildArg]:
    """The entries of every `build-args:` key in a YAML file."""
    n = 0
    while n < len(lines):
        m = _input().match(lines[n])
        n += 1
        if m is None:
            continue
        rest = _uncomment(m.group("rest")).strip()
        if rest and rest[0] not in "|>":
            entries = [unquote(rest)]
            if rest.startswith("[") and rest.endswith("]"):
                entries = [e.strip().strip("\"'") for e in rest[1:-1].split(",")]
            for entry in entries:
                column = max(lines[n - 1].find(entry), 0)
                found = _entry(entry, starts[n - 1] + column)
                if found is not None:
                    yield found
            continue
        indent = len(m.group("indent"))
        while n < len(lines):
            line = lines[n]
            body = line.lstrip()
            if body and len(line) - len(body) <= indent:
                break
            n += 1
            entry = body[2:].lstrip() if body.startswith("- ") else body
            if not entry or entry.startswith("#"):
                continue
            entry = unquote(entry)
            found = _entry(entry, starts[n - 1] + line.find(entry))
            if found is not None:
                yield found


def _uncomment(text: str) -> str:
    m = _comment_before().search(text)
    return text[: m.start()] if m else text


def _entry(entry: str, offset: int) -> BuildArg | None:
    m = _name_value().match(entry.strip())
    if m is None:
        return None
    value = m.group("value")
    if value is not None:
        value = unquote(value.strip())
    return BuildArg(m.group("name"), value, offset, "input")


def _only_references(value: str, p: SecretsPolicy) -> bool:
    """Nothing but references: `$VAR`, `${VAR}`, `$(VAR)`, `${{ ... }}`, `%VAR%`, a
    secret-manager URI."""
    if is_manager_reference(value, p.references):
        return True
    return not _reference().sub("", value).strip(" \"'")


def _reads_secret(value: str) -> bool:
    return bool(_github_secret().search(value)) or any(
        build_arg_secret_name(a or b) for a, b in _reads().findall(value)
    )


def judged(arg: BuildArg, p: SecretsPolicy) -> tuple[str, str | None] | None:
    """(what carries the secret, the secret when the file holds it), or None when the
    argument carries no secret. Text around a reference in a secret's value counts as
    part of the secret (redacted), not as a reference."""
    named = build_arg_secret_name(arg.name)
    if arg.value is None:
        return ("takes a secret from the environment", None) if named else None
    value = arg.value.strip()
    if not value:
        return None
    url = _url_credentials().search(value)
    if url is not None:
        user, password = url.group("user"), url.group("password")
        if password:
            if _only_references(password, p):
                return "holds a URL with credentials", None
            if not is_placeholder(password, p.placeholders):
                return "holds a URL with a password", password
        elif _reference().search(user):
            return "holds a URL with credentials", None
    if _only_references(value, p):
        return ("is set from a secret", None) if named or _reads_secret(value) else None
    if named:
        if _reference().search(value):
            return "is set from a secret", value
        if judge(arg.name, value, bool(credential_name(arg.name)), p.options) is not None:
            return "holds a literal credential", value
        return None
    tokens = analyse(value, "value", p.options).tokens
    if tokens:
        return f"holds a {tokens[0].type.description}", tokens[0].secret
    return ("is set from a secret", None) if _reads_secret(value) else None


# `--build-arg NAME`, `NAME=$VAR`, `NAME="${VAR}"`: a value a BuildKit secret can read
# from the environment as it is, on a line that runs a builder taking `--secret ...,env=`.
_from_env = on_first_use(
    r"--build-arg(?:=|[ \t]+)(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:=(?P<q>[\"']?)\$(?P<b>\{)?(?P<var>[A-Za-z_][A-Za-z0-9_]*)(?(b)\})(?P=q))?(?=\s|$)"
)


_builders = on_first_use(r"\b(?:docker|podman|buildah|nerdctl)\b")


def fix(doc: Document, path: KeyPath) -> Fix | None:
    """`--build-arg NAME[=$VAR]` becomes `--secret id=name,env=VAR`, the id DS320's fix
    mounts in the Dockerfile. One argument per line, read from a variable, by a builder
    that takes `env=`; the rest (a `build-args:` input, `${{ secrets.X }}`) is manual."""
    if len(path) != 3 or path[0] != "build-arg-flag" or doc.file.endswith((".yml", ".yaml")):
        return None  # in YAML the text is a scalar, and `,` may end a flow one: not here
    name, nth = path[1], int(str(path[2])) if str(path[2]).isdigit() else -1
    text = "\n".join(doc.lines)
    mine = [a for a in flags(text) if a.name == name]
    if not 0 <= nth < len(mine):
        return None
    number = text.count("\n", 0, mine[nth].offset) + 1
    old = doc.lines[number - 1]
    found = list(_from_env().finditer(old))
    if len(found) != 1 or old.count("--build-arg") != 1 or not _builders().search(old):
        return None
    m = found[0]
    var = m.group("var") or name
    secret = f"--secret id={str(name).lower()},env={var}"
    new = old[: m.start()] + secret + old[m.end() :]
    return Fix((), False, f"pass {name} as {secret}", lines=(LineEdit(number, old, new),))


def check(doc: Document, ctx: Context) -> Iterator[Violation]:
    p = ctx.secrets
    if not reads_files(doc.file):
        return
    # The analysis the text's other secrets rules read (None: the file is excluded) tells
    # whether the lowercased text holds `build-arg`, without a search of every byte here.
    text_analysis = analysis(doc, ctx)
    if text_analysis is None or "build-arg" not in text_analysis.present:
        return
    text = joined(doc.lines)
    if "build-arg" not in text:
        return
    starts = [0]
    for ln in doc.lines[:-1]:
        starts.append(starts[-1] + len(ln) + 1)
    found = list(flags(text))
    if doc.file.endswith((".yaml", ".yml")):
        found += inputs(doc.lines, starts)
    seen: dict[tuple[str, str], int] = {}
    for arg in sorted(found, key=lambda a: a.offset):
        verdict = judged(arg, p)
        if verdict is None:
            continue
        what, secret = verdict
        if arg.form == "flag":
            where, instead = f"--build-arg {arg.name}", f"pass it with --secret id=…,env={arg.name}"
        else:
            where, instead = f"build-args entry {arg.name}", "move it to the `secrets:` input"
        # A path for the pointer, hence the fingerprint of findings without a secret:
        # the argument and which occurrence of it in the file, never a line number.
        nth = seen[(arg.form, arg.name)] = seen.get((arg.form, arg.name), -1) + 1
        yield Violation(
            (f"build-arg-{arg.form}", arg.name, nth),
            f"{where} {what}, which the image's history and provenance record; {instead}",
            offset=arg.offset,
            secret=secret,
        )


RULE = Rule(
    id="DS324",
    title="Build secrets must not be passed as build arguments",
    practice=Practice.SECRETS,
    severity=Severity.HIGH,
    target=Target.TEXT,
    why=(
        "A build argument is not a secret channel: its value is recorded in the image "
        "history of every layer that uses it (`docker history --no-trunc`), in the build's "
        "provenance attestation (BuildKit records build arguments in it), and it ships to "
        "everyone who pulls the image. Passing the value "
        "from a CI secret (`${{ secrets.NPM_TOKEN }}`, `$NPM_TOKEN`) does not help: the secret "
        "store protects it up to the build, the image gives it away. The rule reads "
        "workflows, GitLab CI and other YAML files, shell scripts, Makefiles, Jenkinsfiles "
        "and justfiles for `--build-arg` (docker, buildx, podman, buildah, kaniko, nerdctl, "
        "`az acr build`; buildctl's `--opt build-arg:`) and for the `build-args:` input of "
        "docker/build-push-action and its kind. It reports an argument whose name says "
        "secret (NPM_TOKEN, GITHUB_TOKEN, *_PASSWORD, *_KEY ...), whose value is read from "
        "a secret (`secrets.*`, `github.token`, a secret-named variable), or whose value is "
        "a URL with credentials (a PIP_INDEX_URL with a token in it) or a token of a known "
        "format. A literal value that is a placeholder is not reported; a real one is "
        "redacted in every output. The Dockerfile side of the same leak is DS320."
    ),
    fix="Pass the secret as a BuildKit secret and read it only in the step that needs it: "
    "`docker build --secret id=npm,env=NPM_TOKEN .` (podman and buildah take `--secret` "
    "too) with `RUN --mount=type=secret,id=npm,env=NPM_TOKEN npm ci` in the "
    "Dockerfile; with docker/build-push-action, move the entry from `build-args:` to the "
    "`secrets:` input (`npm=${{ secrets.NPM_TOKEN }}`). Rotate a secret that was already "
    "built into a pushed image.",
    bad="""\
# .github/workflows/image.yml
on: push
permissions: {contents: read}
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker build --build-arg NPM_TOKEN=${{ secrets.NPM_TOKEN }} -t web .
""",
    good="""\
# .github/workflows/image.yml
on: push
permissions: {contents: read}
jobs:
  image:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: docker build --secret id=npm,env=NPM_TOKEN -t web .
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
""",
    autofix=AutoFix(
        fix,
        safe=False,
        summary='`--build-arg NAME`, `--build-arg NAME="$VAR"` on a docker, podman, '
        "buildah or nerdctl line becomes `--secret id=name,env=VAR`, the secret DS320's "
        "fix mounts in the Dockerfile (`RUN --mount=type=secret,id=name,env=NAME`), in "
        "scripts, Makefiles and Jenkinsfiles (not in YAML files). Unsafe: "
        "the Dockerfile must read the secret from that mount, not from an `ARG`. Values "
        "from `${{ secrets.X }}`, `build-args:` inputs and lines with several build "
        "arguments need a manual fix.",
        before="""\
#!/bin/sh
docker build --build-arg NPM_TOKEN="$NPM_TOKEN" -t shop/web .
""",
        after="""\
#!/bin/sh
docker build --secret id=npm_token,env=NPM_TOKEN -t shop/web .
""",
    ),
    references=(
        "Docker: Build secrets (build arguments are not for secrets)",
        "BuildKit check SecretsUsedInArgOrEnv",
        "docker/build-push-action: secrets input",
        "hadolint DL3064",
        "Sonar S6472",
    ),
    check=check,
    scopes=frozenset({Scope.REPOSITORY, Scope.HISTORY}),
)
