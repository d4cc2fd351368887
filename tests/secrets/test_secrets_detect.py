"""The token detector and the credential-settings parser, with exact lines and columns."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap

import pytest

from deploysafe.secrets.detect import (
    DetectOptions,
    _holds,
    _Lines,
    analyse,
    file_kind,
    is_placeholder,
    is_reference,
    judge,
)
from deploysafe.secrets.keywords import KeywordIndex
from deploysafe.secrets.patterns import BY_ID, TOKEN_TYPES, TokenType
from tests.support.secretgen import expand, fake_aws_key_id, fake_github_token, instance


def test_at_least_forty_types_with_unique_ids() -> None:
    ids = [t.id for t in TOKEN_TYPES]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 40
    assert all(t.description and t.example and t.keywords for t in TOKEN_TYPES)


@pytest.mark.parametrize("t", TOKEN_TYPES, ids=lambda t: t.id)
def test_every_type_finds_its_example(t: TokenType) -> None:
    text = instance(t)
    name = next(n for n in ("settings.conf", "NuGet.Config") if t.path is None or t.path.search(n))
    hits = analyse(text, name).tokens
    assert [h.type.id for h in hits] == [t.id], text


@pytest.mark.parametrize("t", [t for t in TOKEN_TYPES if t.literal], ids=lambda t: t.id)
def test_a_type_s_literal_starts_every_match(t: TokenType) -> None:
    """The regex begins with the literal, character for character, outside any group or
    alternative: a text without it cannot match."""
    from re import _parser  # type: ignore[attr-defined]

    ops = list(_parser.parse(t.regex, t.flags))[: len(t.literal)]
    assert ops == [(_parser.LITERAL, ord(c)) for c in t.literal]
    assert not t.flags  # (IGNORECASE would let other characters match)
    text = instance(t)
    assert t.literal in text
    assert not analyse(text.replace(t.literal, t.literal[:-1]), "settings.conf").tokens


def test_the_header_type_s_lookahead_only_skips_what_no_name_starts() -> None:
    """`(?=[aptx])` before the header names: the same matches as the names tried alone,
    on strings of their letters in any case, blanks, quotes and letters that case-fold
    (a Kelvin sign, a long s, a dotted I)."""
    import random
    import re

    t = BY_ID["authorization-header"]
    plain = re.compile(t.regex.replace("(?=[aptx])", "", 1), t.flags)
    assert plain.pattern != t.regex
    names = ("Authorization", "X-API-KEY", "api-key", "ApiKey", "x-auth-token", "TOKEN", "x-y")
    alphabet = [*names, " ", "\t", '"', "'", ":", " : ", "Bearer ", "\u212a", "\u017f", "\u0130"]
    rng = random.Random(7)
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(8)) + "Qz7vK9xR2mW5pL8"
        assert [m.span("s") for m in t.pattern.finditer(text)] == [
            m.span("s") for m in plain.finditer(text)
        ], text


@pytest.mark.parametrize(
    ("key", "shortest"),
    [("password", 6), ("CLIENT_SECRET", 6), ("signing_key", 10)],
)
def test_a_value_too_short_for_its_key_is_no_credential(key: str, shortest: int) -> None:
    """Below the length its key's reading asks for, or all digits, or with a blank, a value
    is answered at once; at that length the same kind of value is a credential."""
    generated = "Qz7" + "-vK9" + "xR2mW5pL8"
    opts = DetectOptions()
    assert judge(key, generated[:shortest], key != "signing_key", opts) == "secret"
    for short in (generated[: shortest - 1], "7" * 12, generated[:5] + " " + generated[5:]):
        assert judge(key, short, key != "signing_key", opts) is None
    assert judge(key, "CHANGE" + "ME", True, opts) == "default"  # a default before any length


@pytest.mark.parametrize(
    "text",
    ['{"auths": {"r": {"auth": "x"}}}', '"AUTHS": "Auth"', "no auth here", 'naïve "auth" Ω', ""],
)
@pytest.mark.parametrize("literal", ['"auth', "", "Ωmega"])
def test_a_literal_is_held_as_a_substring_search_finds_it(text: str, literal: str) -> None:
    """An ASCII literal absent from the keyword pass's finds is not looked for again; one
    present in any case, or one not ASCII, is looked for in the text as written."""
    found = KeywordIndex.get((), ('"auth',)).search(text.lower())
    assert _holds(text, literal, found.present) == (literal in text)


@pytest.mark.parametrize(
    "value",
    [
        "${GITHUB_TOKEN}",
        "{{ .Values.github.token }}",
        "<your-github-token>",
        "ENC[AES256_GCM,data:abc,iv:def,tag:ghi,type:str]",
        "$(cat /run/secrets/token)",
        "${{ secrets.GITHUB_TOKEN }}",
        "vault:secret/data/ci#token",
        "op://ci/github/token",
    ],
)
def test_references_are_not_secrets(value: str) -> None:
    assert is_reference(value)
    text = f"github_token: {value}\napi_key = '{value}'\n"
    result = analyse(text, "ci.yaml")
    assert result.tokens == [] and result.credentials == []


@pytest.mark.parametrize(
    "value", ["EXAMPLE-token-value-1234", "dummy-secret-9876", "xxxxxxxxxxxxxxxx", "abcdefgh1234"]
)
def test_placeholders(value: str) -> None:
    assert is_placeholder(value) or value == "abcdefgh1234"
    assert analyse(f"api_key: {value}\n", "app.yaml").credentials == []


def test_marker_in_a_token_cancels_it() -> None:
    body = "EXAMPLE" + "0" * 29
    text = "gh" + "p_" + body
    assert analyse(text, "notes.txt").tokens == []


def test_exact_positions_of_tokens() -> None:
    gh, aws = fake_github_token(), fake_aws_key_id()
    text = f"# ci\nexport GH={gh}\n\n  key_id: {aws}\n"
    hits = analyse(text, "ci.sh").tokens
    assert [(h.type.id, h.line, h.column, h.secret) for h in hits] == [
        ("aws-access-key-id", 4, 11, aws),
        ("github-pat", 2, 11, gh),
    ] or [(h.type.id, h.line, h.column, h.secret) for h in hits] == [
        ("github-pat", 2, 11, gh),
        ("aws-access-key-id", 4, 11, aws),
    ]


def test_private_key_needs_a_body() -> None:
    head, tail = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"
    assert analyse(f"{head}\n...\n{tail}\n", "id_rsa").tokens == []
    body = expand("{b64:64}\n{b64:64}")
    hits = analyse(f"x\n{head}\n{body}\n{tail}\n", "id_rsa").tokens
    assert [(h.type.id, h.line, h.column) for h in hits] == [("private-key", 2, 1)]


def test_url_credentials_skip_templates_and_example_hosts() -> None:
    pw = expand("{an:14}")
    text = (
        f"a: postgres://app:{pw}@db.shop.internal/orders\n"
        "b: postgres://app:${DB_PASSWORD}@db.shop.internal/orders\n"
        f"c: https://user:{pw}@example.com/\n"
        "d: redis://:changeme@cache:6379\n"
    )
    hits = analyse(text, "app.yaml").tokens
    assert [(h.type.id, h.line, h.secret) for h in hits] == [("url-credentials", 1, pw)]


SETTINGS = textwrap.dedent(
    """\
    db:
      password: Tz8-qLm2Vx4
      password_file: /run/secrets/db
      admin_password: changeme
      api_key: "{{ .Values.apiKey }}"
      client_secret: 4Fq9-Lw2Zr7-Xp3Kd
      secret_name: shop-db
      token_url: https://auth.shop.internal/token
    """
)


def test_settings_in_yaml() -> None:
    result = analyse(SETTINGS, "values.yaml")
    assert [(a.key, a.line, a.column) for a in result.credentials] == [
        ("password", 2, 13),
        ("client_secret", 6, 18),
    ]
    assert [(a.key, a.line) for a in result.defaults] == [("admin_password", 4)]


def test_source_code_needs_quotes() -> None:
    # deploysafe: ignore[DS302] a made-up password: this parser's test input
    code = 'password = get_password()\npassword = "Tz8-qLm2Vx4"\nif password == cfg.pw:\n'
    result = analyse(code, "app.py")
    assert [(a.key, a.line, a.column) for a in result.credentials] == [("password", 2, 13)]


def test_example_files_keep_formats_but_not_settings() -> None:
    gh = fake_github_token()
    text = f"DB_PASSWORD=Tz8-qLm2Vx4\nGH_TOKEN={gh}\n"
    result = analyse(text, ".env.example")
    assert result.credentials == []
    assert [h.type.id for h in result.tokens] == ["github-pat"]
    assert [a.key for a in analyse(text, ".env").credentials] == ["DB_PASSWORD"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("values.yaml", "config"),
        (".env", "config"),
        (".env.prod", "config"),
        ("Dockerfile", "shell"),
        ("deploy.sh", "shell"),
        ("main.go", "code"),
        ("README.md", "docs"),
        ("package-lock.json", "skip"),
        ("app.min.js", "skip"),
    ],
)
def test_file_kinds(name: str, kind: str) -> None:
    assert file_kind(name) == kind


# Inputs that make a backtracking regex take exponential or quadratic time. Each runs in a
# fresh interpreter with a hard timeout: a catastrophic pattern fails the test by timing out.
HOSTILE = {
    "one 6 MB line": "'a' * 6_000_000",
    "keywords everywhere": "'password=token=secret=key=' * 200_000",
    "unterminated private key": "'-----BEGIN RSA PRIVATE KEY-----\\n' + 'A' * 3_000_000",
    "many key headers": "'-----BEGIN PRIVATE KEY-----' * 100_000",
    "url prefixes": "'https://user:' * 300_000",
    "curl flags": "'curl -u ' * 300_000",
    "jwt prefixes": "'eyJ' * 1_000_000",
    "authorization": "' Authorization: ' * 300_000",
    "long identifiers": "'api_key_' + 'x' * 3_000_000 + ' = 1'",
    "sas parameters": "'?sv=2022-11-02' + '&sp=rl' * 1_000_000",
    "sig parameters": "'&sig=' * 1_000_000",
    "xml elements": "'<password>' * 500_000",
    "webhook prefixes": "'discord.com/api/webhooks/1' * 200_000",
}


@pytest.mark.parametrize("expr", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_input_is_linear(expr: str) -> None:
    code = (
        "import time\n"
        "from deploysafe.secrets.detect import analyse\n"
        f"text = {expr}\n"
        "t = time.process_time()\n"
        "analyse(text, 'bundle.conf')\n"
        "print(round(time.process_time() - t, 2))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert float(proc.stdout.strip()) < 20.0


def test_path_scoped_type_reads_only_its_files() -> None:
    nuget = BY_ID["nuget-cleartext-password"]
    text = instance(nuget)
    assert [h.type.id for h in analyse(text, "src/NuGet.Config").tokens] == [nuget.id]
    assert analyse(text, "src/app.xml").tokens == []


def test_curl_key_as_user_and_braced_values() -> None:
    key = expand("{an:20}", 3)
    assert [
        h.secret for h in analyse(f'curl -u "{key}:" https://api.shop.internal/', "x.sh").tokens
    ] == [key]
    password = expand("{an:14}", 4)
    text = f'curl --user "{{{expand("{hex:8}", 5)}}}":"{{{password}}}" https://api.shop.internal/'
    assert [h.secret for h in analyse(text, "x.sh").tokens] == [password]
    for template in ('curl -u "{user}:{token}" x', 'curl -u "$KEY:" x', 'curl -u "admin:" x'):
        assert analyse(template, "x.sh").tokens == [], template


def test_documented_public_samples_are_not_reported() -> None:
    """Values known to be public (vendor docs, SDK tests) are matched by hash only."""
    from deploysafe.secrets.detect import DOCUMENTED_SAMPLES, sample_hash

    value = expand("{an:24}", 9)
    assert analyse(f"api_key: {value}\n", "app.yaml").credentials
    assert sample_hash(value) not in DOCUMENTED_SAMPLES
    assert len(DOCUMENTED_SAMPLES) >= 20


def test_secret_that_does_not_parse_is_read_as_text() -> None:
    """Tab indentation or `kind: secret`: Kubernetes rejects it, but the value is committed."""
    value = base64.b64encode(expand("{an:18}", 11).encode()).decode()
    for head in ("kind: secret\ndata:\n\t", "kind: 'Secret'\ndata:\n\t", "kind: secret\ndata:\n  "):
        text = f"apiVersion: v1\n{head}extra: {value}\nmetadata:\n\tname: s\n"
        found = analyse(text, "secret.yaml").credentials
        assert [(c.key, c.value, c.line) for c in found] == [("extra", value, 4)], head
    short = base64.b64encode(b"bar\n").decode()
    assert analyse(f"kind: secret\ndata:\n\textra: {short}\n", "s.yaml").credentials == []
    template = "kind: secret\ndata:\n\tpassword: {{ .Values.password }}\n"
    assert analyse(template, "s.yaml").credentials == []


@pytest.mark.parametrize(
    "before",
    [
        "",
        "# passecret, tokensecret and a secretRef: the word in other keys\n",
        "description: the secret; kind: secret comes later\n" * 3,
    ],
)
def test_a_kind_secret_line_is_found_among_other_secret_words(before: str) -> None:
    """The `kind: secret` line is found wherever `secret` also occurs in other words and on
    other lines (a `secret` that `pass` overlaps included)."""
    value = base64.b64encode(expand("{an:18}", 11).encode()).decode()
    text = f"{before}kind: Secret\ndata:\n\textra: {value}\n"
    found = analyse(text, "secret.yaml").credentials
    line = before.count("\n") + 3
    assert [(c.key, c.value, c.line) for c in found] == [("extra", value, line)]
    assert analyse(text.replace("kind: Secret", "kind: Secrets"), "s.yaml").credentials == []


def test_an_indented_kind_secret_is_not_a_secret_document() -> None:
    """`kind: Secret` inside another object (a Kyverno generate rule, a chart's values) in a
    document that parses: its `data` keys are settings, judged by their names, not values
    of a Secret. In a loose Secret, only the data map's own keys are read."""
    text = (
        "apiVersion: kyverno.io/v1\nkind: ClusterPolicy\nspec:\n  rules:\n  - generate:\n"
        "      kind: Secret\n      data:\n        metadata:\n          labels:\n"
        "            team: platform42\n        type: kubernetes.io/dockerconfigjson\n"
        "        stringData:\n          region: eu-west-1\n"
    )
    assert analyse(text, "policy.yaml").credentials == []
    values = "extra:\n  kind: secret\n  data:\n    loglevel: debugging\n    flags: checkout-v2\n"
    assert analyse(values, "values.yaml").credentials == []
    value = expand("{an:18}", 14)
    nested = f"extra:\n  kind: Secret\n  data:\n    password: {value}\n"
    assert [c.key for c in analyse(nested, "values.yaml").credentials] == ["password"]
    block = f"kind: secret\nstringData:\n\tcert: |\n\t\tline: {value}\n\tpassword: {value}\n"
    assert [(c.key, c.line) for c in analyse(block, "s.yaml").credentials] == [("password", 5)]


def test_secret_that_parses_is_left_to_ds310() -> None:
    value = base64.b64encode(expand("{an:18}", 12).encode()).decode()
    text = f"apiVersion: v1\nkind: Secret\ndata:  # base64\n  password: {value}\n"
    assert analyse(text, "secret.yaml").credentials == []


def test_literal_compared_with_a_password_is_hard_coded() -> None:
    """`if ("…" == password)`: a password checked against a literal, written either way."""
    value = expand("{an:14}", 13)
    for text in (f'if ("{value}" == password) {{', f"if '{value}' != self.password:"):
        found = analyse(text, "app.py").credentials
        assert [a.value for a in found] == [value], text
    assert analyse('if ("a" == password) {', "app.py").credentials == []
    assert analyse(f'label = "{value}" + name', "app.py").credentials == []


@pytest.mark.parametrize(
    ("op", "blanks", "found"),
    [("==", 0, True), ("===", 20, True), ("!==", 1, True), ("!=", 20, True), ("==", 21, False)],
)
def test_a_comparison_is_found_up_to_twenty_blanks_before_the_name(
    op: str, blanks: int, found: bool
) -> None:
    value = expand("{an:14}", 13)
    text = f'if ("{value}" {op}{" " * blanks}password) {{'
    assert [a.value for a in analyse(text, "app.py").credentials] == ([value] if found else [])


def test_symbol_heavy_password_is_not_a_mask() -> None:
    assert not is_placeholder("A,.:-@*?!")
    assert is_placeholder("****") and is_placeholder("xxxx-xxxx")


@pytest.mark.parametrize(
    "before", ["", " ", "\n", "=", "'", "-", ".", "x", "S", "_", "9", "é", "\u212a"]
)
def test_word_start_keywords_send_the_lines_the_pattern_can_match(before: str) -> None:
    """A keyword counted only where a word starts (the legacy Vault `s.`) finds every token
    the type's pattern finds in the whole text, and no other; `resources.` and `is.` on the
    same and other lines are not starts of a token."""
    t = BY_ID["vault-token"]
    assert "s." in t.word_start
    token = "s" + "." + expand("{an:24}", seed=11)
    text = f"resources.yaml is.\nvalue: {before}{token} words.\nthis.{token}\n"
    whole = [m.group("s") for m in t.pattern.finditer(text)]
    found = [h.secret for h in analyse(text, "notes.txt").tokens if h.type is t]
    assert found == whole
    assert found == [token] * (1 if before in ("x", "S", "_", "9") else 2)


def test_line_and_column_of_offsets_looked_up_in_any_order() -> None:
    """Ascending lookups, lookups that go back (past the number that are counted before
    the table of line starts is built), offsets on a newline and at the text's end."""
    text = "a\n\nbc\nd\n" * 20 + "end"
    where = _Lines(text.split("\n"), text)
    offsets = list(range(len(text) + 1))
    for offset in [*offsets, *offsets[::-1], *offsets[::7]]:
        line = text.count("\n", 0, offset) + 1
        column = offset - text.rfind("\n", 0, offset)
        assert where.at(offset) == (line, column), offset
        assert where.line_of(offset) == text.split("\n")[line - 1]
    assert where.offset(4, 1) == text.index("d")
    assert _Lines(None, text).lines == text.split("\n")


def test_token_regexes_are_compiled_on_first_use_once() -> None:
    """Loading the scanner compiles no token regex (the parent process starts its workers
    sooner; a scan runs the few types its files have keywords for); a type's regex is
    compiled once."""
    code = (
        "import deploysafe.cli.main, deploysafe.engine.scan\n"
        "from deploysafe.secrets import patterns\n"
        "print(patterns._compiled.cache_info().currsize)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "0"
    t = BY_ID["vault-token"]
    assert t.pattern is t.pattern and t.pattern.pattern == t.regex


def test_a_private_key_shown_in_part_is_no_key() -> None:
    # As READMEs show one: the first and last lines of the body, `...` between them.
    head, tail = "-----BEGIN RSA PRIVATE KEY-----", "-----END RSA PRIVATE KEY-----"
    first, last = expand("{b64:64}", 31), expand("{b64:52}", 32)
    for elided in (f"{first}\n...\n{last}", f"{first}...\n{last}", f"{first}\\n...\\n{last}"):
        assert analyse(f"```text\n{head}\n{elided}\n{tail}\n```\n", "README.md").tokens == []
    whole = expand("{b64:64}\n{b64:64}\n{b64:52}", 33)
    hits = analyse(f"```text\n{head}\n{whole}\n{tail}\n```\n", "README.md").tokens
    assert [(h.type.id, h.line) for h in hits] == [("private-key", 2)]
    # An armor header with dots in it is no elision.
    pgp = "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2.0.22\n\n"
    hits = analyse(f"{pgp}{whole}\n-----END PGP PRIVATE KEY BLOCK-----\n", "key.asc").tokens
    assert [h.type.id for h in hits] == ["private-key"]


def test_a_url_credential_named_in_capitals_is_a_stand_in() -> None:
    text = (
        "a: https://USERNAME:PERSONAL_ACCESS_TOKEN@github.com/USERNAME/REPOSITORY\n"
        "b: mongodb://DB_USER:DB_PASSWORD@mongodb:27017\n"
    )
    assert analyse(text, "README.md").tokens == []
    pw = expand("{an:14}", 34)
    for real in (pw, "BLUE_HORSE_42", "Q7_" + pw):  # capitals alone are no stand-in
        hits = analyse(f"c: postgres://app:{real}@db.shop.internal/orders\n", "app.yaml").tokens
        assert [(h.type.id, h.secret) for h in hits] == [("url-credentials", real)]


def test_settings_that_compute_name_or_tag_their_value_hold_no_credential() -> None:
    text = (
        # a shell substitution inside a value, a call cut at its parenthesis
        'redis_credentials=":$(airflow_encode_url "$REDIS_PASSWORD")"\n'
        'db_password = get_secret_value("hub.db.password", None)\n'
        'service["api_token"] = get_secret_value(f"hub.services.{key}.apiToken")\n'
        # an image named like a credential setting, and its tag
        "image: docker.io/bitnami/rmq-default-credential-updater:1.0.8-debian-12-r0\n"
        # the names of what goes there, in capitals
        "## --from-literal=client-passwords=CLIENT_PASSWORD1,CLIENT_PASSWORD2\n"
        # when, not what
        '## argocdServerAdminPasswordMtime: "2006-01-02T15:04:05Z"\n'
        "token_expires: 2031-07-01\n"
    )
    assert analyse(text, "values.yaml").credentials == []
    pw = expand("{an:16}", 35)
    text = f'redis_credentials=":{pw}"\ndb_password = "{pw}"\nclient-passwords={pw}\n'
    keys = [c.key for c in analyse(text, "values.yaml").credentials]
    assert keys == ["redis_credentials", "db_password", "client-passwords"]


def test_token_shapes_in_a_certificate_or_in_code_outside_strings_are_no_tokens() -> None:
    square = "EAAA" + expand("{an:60}", 36)
    pem = f"-----BEGIN CERTIFICATE-----\n{square}\n-----END CERTIFICATE-----\n"
    assert analyse(pem, "testcerts.go").tokens == []  # a line of a certificate's base64
    assert [h.type.id for h in analyse(f'key := "{square}"\n', "pay.go").tokens] == ["square-token"]
    code = (
        "claims := Claims{\n\ttoken: TokenIssuer1WithNestedClaims1,\n}\n"
        # a field access shaped like a legacy Vault token, joined so that this file holds none
        "if s." + "AutoAllocatedIPv4Address" + ' != "" {\n'
    )
    assert analyse(code, "service.go").tokens == []
    header, vault = expand("{an:32}", 37), "s." + expand("{an:20}", 38) + "4k9Z"
    code = f'req.Header.Set("X", "Authorization: Bearer {header}")\naddr := "{vault}"\n'
    found = {h.type.id for h in analyse(code, "client.go").tokens}
    assert found == {"authorization-header", "vault-token"}
