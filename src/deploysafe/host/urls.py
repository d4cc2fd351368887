"""Git remote URLs: what may be shown of one (`public_url`), and which repository one names
(`repository`), in every form git accepts.

    public_url("https://gitlab-ci-token:T0KEN@gitlab.example.com/acme/shop.git")
        -> "https://gitlab.example.com/acme/shop.git"
    repository("git@github.com:Acme/shop.git") -> "github.com/acme/shop"
    matches("github.com/acme/shop", "github.com/acme/*") -> True

Every URL deploysafe prints or records goes through `public_url` (text that may quote one,
such as git's own error messages, through `public_text`): CI runners put credentials in
remote URLs (GitLab's `https://gitlab-ci-token:${CI_JOB_TOKEN}@host/...`, GitHub's
`https://x-access-token:${GITHUB_TOKEN}@github.com/...`), and the user name alone is often
the token. So the whole userinfo goes, and the query and fragment with it. Only an ssh login name
(`git@github.com:acme/shop`) stays: ssh never carries a password in it, and the URL still
says how to reach the repository.

`repository` compares the repository a URL reaches, as the server will see the path:
unreserved percent-escapes decoded (RFC 3986 section 6.2.2.2), dot-segments removed
(section 5.2.4, as curl does before it sends the request), `.git` and trailing slashes
dropped, host and path lower-cased. What a server could still read as another path is
refused with a `RemoteError`: any other percent-escape (`%2F` is a `/` to some servers), a
backslash, an empty segment, and the `<transport>::<address>` form that hands the URL to a
remote helper program.
"""

from __future__ import annotations

import fnmatch
import os
import re
import urllib.parse

from deploysafe.errors import InputError

_SCHEME_URL = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<rest>.*)$", re.DOTALL)
# scp-like `[user@]host:path`, as git reads it: a colon before any slash.
_SCP = re.compile(r"^(?:(?P<user>[^@/]*)@)?(?P<host>[^@/:]+):(?P<path>(?!/).*)$", re.DOTALL)
_HELPER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+.-]*::")
_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>`]+")
_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
SSH_SCHEMES = frozenset({"ssh", "git+ssh", "ssh+git"})


class RemoteError(InputError):
    """A remote URL whose repository cannot be told for sure; the message says why."""


def public_url(url: str) -> str:
    """`url` without credentials: no userinfo (an ssh login name stays), query or fragment."""
    m = _SCHEME_URL.match(url)
    if m is None:
        scp = _SCP.match(url)
        if scp is None or _DRIVE.match(url) or scp.group("user") is None:
            return url
        user = scp.group("user")
        login = f"{user}@" if user and ":" not in user else ""
        return f"{login}{scp.group('host')}:{scp.group('path')}"
    scheme, rest = m.group("scheme"), m.group("rest")
    end = len(rest)
    for stop in "/?#":
        at = rest.find(stop)
        if at != -1:
            end = min(end, at)
    authority, path = rest[:end], rest[end:]
    user, sep, host = authority.rpartition("@")
    if sep:
        keep = scheme.lower() in SSH_SCHEMES and user and ":" not in user
        authority = f"{user}@{host}" if keep else host
    path = re.split(r"[?#]", path, maxsplit=1)[0]
    return f"{scheme}://{authority}{path}"


def public_text(text: str) -> str:
    """`text` with every URL in it passed through `public_url`."""
    return _URL_IN_TEXT.sub(lambda m: public_url(m.group(0)), text)


def repository(url: str) -> str:
    """`host/path` of the repository `url` reaches (a local path for local remotes), lower
    case; RemoteError when a server could read the path as another repository."""
    u = url.strip()
    if _HELPER.match(u):
        raise RemoteError(f"{public_url(u)}: a remote-helper URL (`<transport>::<address>`)")
    m = _SCHEME_URL.match(u)
    if m is not None:
        try:
            parts = urllib.parse.urlsplit(u)
            hostname = parts.hostname or ""
        except ValueError as exc:
            raise RemoteError(f"{public_url(u)}: not a URL ({exc})") from None
        if parts.scheme.lower() == "file":
            return _local(urllib.parse.unquote(parts.path))
        host, path = hostname, parts.path
    else:
        scp = _SCP.match(u)
        if scp is not None and not _DRIVE.match(u):
            host, path = scp.group("host"), scp.group("path")
        elif u.startswith(("/", ".", "~")):
            return _local(u)
        else:  # host/owner/repo, as a policy writes it
            host, _, path = u.partition("/")
    host = host.lower()
    if not host or "%" in host:
        raise RemoteError(f"{public_url(u)}: no host name, or an encoded one")
    segments = _path_segments(path, public_url(u))
    return "/".join([host, *segments]).lower()


def _path_segments(path: str, shown: str) -> list[str]:
    decoded = _ESCAPE.sub(_decode_unreserved, path)
    if "%" in decoded:
        raise RemoteError(
            f"{shown}: the path holds percent-encoded characters a server may decode into "
            "another path (write the repository path plainly)"
        )
    if "\\" in decoded:
        raise RemoteError(f"{shown}: the path holds a backslash")
    out: list[str] = []
    for segment in decoded.strip("/").split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment != ".":
            out.append(segment)
    if out:
        out[-1] = out[-1].removesuffix(".git")
    if not out or "" in out:
        raise RemoteError(f"{shown}: an empty repository path or path segment")
    return out


def _decode_unreserved(m: re.Match[str]) -> str:
    char = chr(int(m.group(1), 16))
    return char if char in _UNRESERVED else m.group(0).upper()


def _local(path: str) -> str:
    p = os.path.normpath(os.path.expanduser(path))
    p = p.removesuffix("/.git") if p.endswith("/.git") else p
    return p.removesuffix(".git") if p.endswith(".git") else p


def matches(repo: str, pattern: str) -> bool:
    """Whether the repository `repo` (from `repository`) matches the policy entry `pattern`
    (also from `repository`): segment by segment, so a `*` never crosses a `/`."""
    got, want = repo.split("/"), pattern.split("/")
    return len(got) == len(want) and all(
        fnmatch.fnmatchcase(g, w) for g, w in zip(got, want, strict=True)
    )
