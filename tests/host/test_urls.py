"""Remote URLs: the repository one reaches (as a server reads the path), whether it matches
a policy entry, and what of it may be shown."""

from __future__ import annotations

import pytest

from deploysafe.host.urls import RemoteError, matches, public_text, public_url, repository
from tests.support.secretgen import expand

TOKEN = expand("glpat-{url:20}")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/Acme/Shop.git", "github.com/acme/shop"),
        ("https://github.com/acme/shop/", "github.com/acme/shop"),
        ("git@github.com:acme/shop.git", "github.com/acme/shop"),
        ("github.com/acme/*", "github.com/acme/*"),
        # Dot-segments, plain and percent-encoded, are where the server goes.
        ("https://github.com/acme/../mallory/shop.git", "github.com/mallory/shop"),
        ("https://github.com/acme/shop/../../mallory/shop", "github.com/mallory/shop"),
        ("https://github.com/acme/%2e%2e/mallory/shop", "github.com/mallory/shop"),
        ("https://github.com/acme/%2E%2e/mallory/%73hop.git", "github.com/mallory/shop"),
        ("https://github.com/acme/./shop", "github.com/acme/shop"),
        ("https://github.com/../../acme/shop", "github.com/acme/shop"),
        ("git@github.com:acme/../mallory/shop.git", "github.com/mallory/shop"),
        ("ssh://git@github.com/acme/shop.git/../../mallory/shop", "github.com/mallory/shop"),
        ("https://github.com@evil.example/acme/shop", "evil.example/acme/shop"),
    ],
)
def test_repository(url: str, expected: str) -> None:
    assert repository(url) == expected


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (
            "https://github.com/acme/shop%2F..%2F..%2Fmallory%2Fshop",
            "https://github.com/acme/shop%2F..%2F..%2Fmallory%2Fshop: the path holds "
            "percent-encoded characters a server may decode into another path (write the "
            "repository path plainly)",
        ),
        (
            "git@github.com:acme/x%2f..%2fmallory",
            "git@github.com:acme/x%2f..%2fmallory: the path holds percent-encoded characters a "
            "server may decode into another path (write the repository path plainly)",
        ),
        (
            "https://github.com/acme\\..\\mallory/shop",
            "https://github.com/acme\\..\\mallory/shop: the path holds a backslash",
        ),
        (
            "https://github.com/acme//shop",
            "https://github.com/acme//shop: an empty repository path or path segment",
        ),
        ("https://github.com/", "https://github.com/: an empty repository path or path segment"),
        (
            "ext::ssh -o ProxyCommand=x github.com/acme/shop",
            "ext::ssh -o ProxyCommand=x github.com/acme/shop: a remote-helper URL "
            "(`<transport>::<address>`)",
        ),
    ],
)
def test_ambiguous_paths_are_refused(url: str, message: str) -> None:
    with pytest.raises(RemoteError) as caught:
        repository(url)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("repo", "pattern", "expected"),
    [
        ("github.com/acme/shop", "github.com/acme/*", True),
        ("github.com/acme/team/shop", "github.com/acme/*", False),
        ("github.com/acme", "github.com/acme/*", False),
        ("github.com/mallory/shop", "github.com/acme/*", False),
        ("gitlab.example.com/acme/team/shop", "gitlab.example.com/acme/*/*", True),
        ("github.com/acme/shop", "github.com/*/shop", True),
    ],
)
def test_a_star_never_crosses_a_slash(repo: str, pattern: str, expected: bool) -> None:
    assert matches(repo, pattern) is expected


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        (
            f"https://gitlab-ci-token:{TOKEN}@gitlab.example.com/acme/shop.git",
            "https://gitlab.example.com/acme/shop.git",
        ),
        (f"https://{TOKEN}@github.com/acme/shop", "https://github.com/acme/shop"),
        (f"https://github.com/acme/shop?private_token={TOKEN}#x", "https://github.com/acme/shop"),
        (f"https://u:{TOKEN}@host.example", "https://host.example"),
        (f"ssh://git:{TOKEN}@github.com/acme/shop", "ssh://github.com/acme/shop"),
        ("ssh://git@github.com:22/acme/shop", "ssh://git@github.com:22/acme/shop"),
        ("git@github.com:acme/shop.git", "git@github.com:acme/shop.git"),
        (f"git:{TOKEN}@github.com:acme/shop.git", "github.com:acme/shop.git"),
        ("/srv/git/shop.git", "/srv/git/shop.git"),
    ],
)
def test_public_url_carries_no_credentials(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_public_text_strips_every_url_in_a_message() -> None:
    message = (
        f"fatal: unable to access 'https://oauth2:{TOKEN}@gitlab.example.com/a/b.git/': "
        f"and https://{TOKEN}@github.com/c/d"
    )
    assert public_text(message) == (
        "fatal: unable to access 'https://gitlab.example.com/a/b.git/': and https://github.com/c/d"
    )
