"""Token formats with a precise shape: data, one entry per type.

Each type has an id, a description, the lowercase keywords of which at least one must be
in the text before its regex runs (the prefilter), the regex (group `s` is the secret; the
whole match when there is none), an entropy floor for the secret, and an example *shape*:
`{an:36}` stands for 36 letters and digits. Docs print the shape; tests expand it into a
random instance and check that the type finds it, so no file holds a live-looking token.

Every regex is linear: bounded repetitions, no nested quantifiers, a literal anchor first.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from collections.abc import Callable

from deploysafe import jsondata
from deploysafe.frozen import record

# Characters that may not touch a token on either side.
_L = r"(?<![A-Za-z0-9_])"
_R = r"(?![A-Za-z0-9_])"
_LD = r"(?<![A-Za-z0-9_-])"  # left, for tokens whose alphabet has '-'
_RD = r"(?![A-Za-z0-9_-])"


@record
class TokenType:
    """A kind of secret with a recognisable shape: its regex, the keywords that must be
    present for it to be tried, an example, and the checks a match must pass."""

    id: str
    description: str
    # The regex's source, compiled when first run (`pattern`): a scan runs few of the types
    # (only where a keyword is found), and compiling all of them took each command ~10 ms.
    regex: str
    keywords: tuple[str, ...]
    example: str
    entropy: float = 0.0
    # Extra validation on the secret (decodes, checksums, structure).
    check: Callable[[str], bool] | None = None
    # Placeholder markers (example, xxxx ...) inside the secret do not cancel it.
    markers_ok: bool = False
    # Custom rules: the group that holds the secret (None: the first that matched).
    group: int | None = None
    custom: bool = False
    # The match may span lines, or its keyword may be on another line than the match: the
    # regex then runs over the whole text instead of only the lines holding a keyword.
    multiline: bool = False
    # Only files whose path (relative, '/'-separated) this searches: a format that means a
    # credential in one kind of file only (a NuGet.config's `Password`).
    path: re.Pattern[str] | None = None
    # Keywords that count only where a word starts (after a character not in
    # [A-Za-z0-9_]), as the pattern's own left boundary requires: the legacy Vault prefix
    # `s.` ends countless English words, and each would send its line to the regex.
    word_start: tuple[str, ...] = ()
    flags: int = 0
    # A substring every match starts with, as written: a text without it is not searched
    # (a multiline type's keyword sends the whole text to its regex, and a CRD that names
    # the keyword in its schema is megabytes).
    literal: str = ""
    # The starts of the matches that source code writes only inside a string literal (`""`:
    # every match): outside one, `token: TokenIssuer1,` is a struct field, and `s.` with a
    # 24-letter name a field access.
    quoted_in_code: tuple[str, ...] = ()

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.regex, self.flags)

    def span(self, m: re.Match[str]) -> tuple[int, int]:
        """Where the secret is in the text: group `s`, else `u`, else the whole match."""
        if self.custom:
            if self.group is not None and self.group <= (self.pattern.groups or 0):
                if m.start(self.group) >= 0:
                    return m.span(self.group)
                return m.span()
            for i in range(1, (self.pattern.groups or 0) + 1):
                if m.start(i) >= 0 and m.end(i) > m.start(i):
                    return m.span(i)
            return m.span()
        for group in ("s", "u"):
            if group in self.pattern.groupindex and m.start(group) >= 0:
                return m.span(group)
        return m.span()


def _t(
    id: str,
    description: str,
    pattern: str,
    keywords: tuple[str, ...],
    example: str,
    entropy: float = 0.0,
    check: Callable[[str], bool] | None = None,
    flags: int = 0,
    markers_ok: bool = False,
    multiline: bool = False,
    path: str | None = None,
    word_start: tuple[str, ...] = (),
    literal: str = "",
    quoted_in_code: tuple[str, ...] = (),
) -> TokenType:
    return TokenType(
        id,
        description,
        pattern,
        keywords,
        example,
        entropy,
        check,
        markers_ok,
        multiline=multiline,
        path=re.compile(path) if path else None,
        word_start=word_start,
        flags=flags,
        literal=literal,
        quoted_in_code=quoted_in_code,
    )


# Once per process and type; the types are module constants, so the cache is bounded.
@functools.cache
def _compiled(source: str, flags: int) -> re.Pattern[str]:
    return re.compile(source, flags)


def _padded(b64: str) -> str:
    """Base64 with the `=` padding that tokens usually leave off put back."""
    return b64 + "=" * (-len(b64) % 4)


def _b64json(part: str) -> object | None:
    try:
        raw = base64.urlsafe_b64decode(_padded(part))
    except (binascii.Error, ValueError):
        return None
    try:
        data: object = jsondata.loads(raw)
        return data
    except jsondata.JsonTooDeep:
        # An object too deep to read is still an object: judged by its shape.
        return {} if raw.lstrip().startswith(b"{") else None
    except ValueError:  # not JSON, or not UTF-8
        return None


def _jwt(secret: str) -> bool:
    """Header and payload both decode to JSON objects (the header names an algorithm)."""
    parts = secret.split(".")
    if len(parts) < 2:
        return False
    header = _b64json(parts[0])
    return isinstance(header, dict) and "alg" in header and isinstance(_b64json(parts[1]), dict)


def _whole_key(secret: str) -> bool:
    """Not a key shown in part, as documentation shows one: a body line with `...` in it
    elides the rest (base64 has no dots; an armor header such as `Version: GnuPG v2.0.22`
    is a `Name: value` line). Lines end at breaks and at `\\n` escapes in a string."""
    lines = secret.replace("\\n", "\n").splitlines()
    return not any("..." in line and ":" not in line for line in lines)


def _docker_auth(secret: str) -> bool:
    """A Docker `auths` entry's `auth`: base64 of `user:password` with a password."""
    try:
        raw = base64.b64decode(_padded(secret), validate=False)
        text = raw.decode("utf-8")
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return False
    _user, sep, password = text.partition(":")
    return bool(sep and password and len(password) >= 4)


def _mixed(secret: str) -> bool:
    """Letters and digits both present (ids of words or of numbers are not keys)."""
    return any(c.isdigit() for c in secret) and any(c.isalpha() for c in secret)


_B64 = "A-Za-z0-9+/"
_URL = "A-Za-z0-9_-"
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# A vendor-named setting (`SNYK_TOKEN = "`, `hubspot.key: `) up to its value's first character.
_SET = r"[\w.-]{0,30}[\"']?\s{0,5}(?::{0,3}=|:|=>|\?=)\s{0,5}[\"']?"

TOKEN_TYPES: tuple[TokenType, ...] = (
    # ---------------------------------------------------------------- cloud
    _t(
        "aws-access-key-id",
        "AWS access key ID (long-term AKIA, temporary ASIA and other IAM prefixes)",
        _L + r"(?P<s>(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z2-7]{16})" + _R,
        ("akia", "asia", "abia", "acca", "a3t"),
        "AKIA{b32:16}",
        entropy=3.0,
    ),
    _t(
        "aws-secret-access-key",
        "AWS secret access key assigned to an aws_secret_access_key-like name",
        r"(?i:aws_?secret(?:_?access)?_?key|secret_?access_?key)[\"']?\s{0,5}(?:=|:|=>|:=)\s{0,5}"
        r"[\"']?(?P<s>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])",
        ("aws_secret", "awssecret", "secret_access", "secretaccess"),
        "aws_secret_access_key = {b64:40}",
        entropy=4.0,
    ),
    _t(
        "aws-bedrock-api-key",
        "Amazon Bedrock long-lived API key",
        _L + r"(?P<s>ABSKQmVkcm9ja0FQSUtleS[A-Za-z0-9+/]{100,400}={0,2})",
        ("absk",),
        "ABSKQmVkcm9ja0FQSUtleS{b64:120}",
        entropy=3.0,
        markers_ok=True,
    ),
    _t(
        "gcp-api-key",
        "Google Cloud / Firebase API key",
        _L + r"(?P<s>AIza[A-Za-z0-9_-]{35})" + _RD,
        ("aiza",),
        "AIza{url:35}",
        entropy=4.0,
    ),
    _t(
        "gcp-service-account",
        "Google Cloud service-account key file (its private_key_id)",
        r"\"private_key_id\\?\"\s{0,5}:\s{0,5}\\?\"(?P<s>[a-f0-9]{40})\\?\"",
        ("service_account",),
        '{"type": "service_account", "private_key_id": "{hex:40}", "private_key": ...}',
        entropy=3.0,
        multiline=True,
    ),
    _t(
        "azure-storage-key",
        "Azure storage account key in a connection string (AccountKey=)",
        r"(?i:AccountKey)\s{0,3}=\s{0,3}(?P<s>[A-Za-z0-9+/]{86}==)",
        ("accountkey",),
        "DefaultEndpointsProtocol=https;AccountName=shop;AccountKey={b64:86}==",
        entropy=4.5,
    ),
    _t(
        "azure-sas-key",
        "Azure Service Bus / Event Hubs / IoT shared access key (SharedAccessKey=)",
        r"(?i:SharedAccessKey)\s{0,3}=\s{0,3}(?P<s>[A-Za-z0-9+/]{42,43}=)",
        ("sharedaccesskey",),
        "Endpoint=sb://shop.servicebus.windows.net/;SharedAccessKeyName=app;SharedAccessKey={b64:43}=",
        entropy=4.0,
    ),
    _t(
        "azure-ad-client-secret",
        "Microsoft Entra ID (Azure AD) application client secret",
        r"(?:^|(?<=[\\'\"`\s>=:(,)]))(?P<s>[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34})"
        r"(?=$|[\\'\"`\s<),])",
        ("q~",),
        "client_secret={an:3}8Q~{an:34}",
        entropy=3.0,
        flags=re.MULTILINE,
    ),
    # Before azure-sas-token: the `sig=` of these URLs is a Teams channel's webhook.
    _t(
        "microsoft-teams-workflow",
        "Microsoft Teams workflow webhook URL (a Power Automate or Logic Apps HTTP trigger "
        "signed by its `sig=`)",
        r"(?P<s>(?:prod-[0-9]{1,3}\.[a-z0-9-]{2,30}\.logic\.azure\.com(?::443)?"
        r"|[a-z0-9-]{1,80}\.[a-z0-9]{1,4}\.environment\.api\.powerplatform\.com(?::443)?"
        r"/powerautomate/automations/direct)"
        r"/workflows/[0-9a-fA-F]{32}/triggers/[A-Za-z0-9_.-]{1,80}/paths/invoke\?"
        r"(?:[A-Za-z0-9._~%=-]{1,200}&){0,10}sig=[A-Za-z0-9_%-]{43,90})(?![A-Za-z0-9_%-])",
        ("logic.azure.com", "powerplatform.com"),
        "https://prod-12.westeurope.logic.azure.com:443/workflows/{hex:32}/triggers/manual/"
        "paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={url:43}",
        entropy=3.0,
    ),
    _t(
        "azure-sas-token",
        "Azure shared access signature (the `sig=` of a SAS URL or connection string)",
        r"(?:[?&;](?:sv|ss|srt|sp|se|st|spr|sr|si|sip|skoid|sktid|skt|ske|sks|skv|sdd)="
        r"[^\s\"'<>&;]{1,100}(?:&(?:[a-z]{2,6})=[^\s\"'<>&;]{0,100}){0,20}&sig="
        r"(?P<s>[A-Za-z0-9%+/=]{43,130})|[?&]sig=(?P<u>[A-Za-z0-9%+/=]{43,130})&(?:sv|se|sp)=)"
        r"(?![A-Za-z0-9%+/=])",
        ("sig=",),
        "https://shop.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=co&sp=rl"
        "&se=2031-01-01T00:00:00Z&sig={an:40}%2B{an:4}%3D",
        entropy=3.5,
    ),
    _t(
        "azure-devops-pat",
        "Azure DevOps personal access token (84-character form, or 52 characters next to a "
        "DevOps-named setting)",
        r"(?:"
        + _L
        + r"(?P<s>[A-Za-z0-9]{52}JQQJ[A-Za-z0-9]{20}AZDO[A-Za-z0-9]{4})"
        + _R
        + r"|(?<![A-Za-z0-9])(?i:azure_?devops|devops|azdo|ado)"
        + _SET
        + r"(?P<u>[a-z2-7]{52})(?![A-Za-z0-9]))",
        ("jqqj", "devops", "azdo", "ado"),
        "{an:52}JQQJ99{an:18}AZDO{an:4}",
        entropy=3.5,
        check=_mixed,
    ),
    _t(
        "digitalocean-token",
        "DigitalOcean personal access, OAuth or refresh token",
        _L + r"(?P<s>do[opr]_v1_[a-f0-9]{64})" + _R,
        ("dop_v1_", "doo_v1_", "dor_v1_"),
        "dop_v1_{hex:64}",
        entropy=3.0,
    ),
    _t(
        "alibaba-access-key-id",
        "Alibaba Cloud AccessKey ID",
        _L + r"(?P<s>LTAI[A-Za-z0-9]{20})" + _R,
        ("ltai",),
        "LTAI{an:20}",
        entropy=3.0,
    ),
    _t(
        "heroku-api-key",
        "Heroku platform API key (HRKU- format, or a UUID next to heroku)",
        r"(?:" + _L + r"(?P<s>HRKU-AA[A-Za-z0-9_-]{58})" + _RD + r"|(?i:heroku)[\w.-]{0,20}"
        r"[\"']?\s{0,5}(?:=|:|=>|:=)\s{0,5}[\"']?(?P<u>(?i:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-"
        r"[0-9a-f]{4}-[0-9a-f]{12})))",
        ("hrku-", "heroku"),
        "HRKU-AA{url:58}",
        entropy=3.0,
    ),
    # ---------------------------------------------------------------- source hosting, CI
    _t(
        "github-pat",
        "GitHub personal access token (classic)",
        _L + r"(?P<s>ghp_[A-Za-z0-9]{36})" + _R,
        ("ghp_",),
        "ghp_{an:36}",
        entropy=3.0,
    ),
    _t(
        "github-fine-grained-pat",
        "GitHub fine-grained personal access token",
        _L + r"(?P<s>github_pat_[A-Za-z0-9_]{82})" + _R,
        ("github_pat_",),
        "github_pat_{an:22}_{an:59}",
        entropy=3.0,
    ),
    _t(
        "github-oauth-token",
        "GitHub OAuth access token",
        _L + r"(?P<s>gho_[A-Za-z0-9]{36})" + _R,
        ("gho_",),
        "gho_{an:36}",
        entropy=3.0,
    ),
    _t(
        "github-app-token",
        "GitHub App user-to-server or installation token (also `ghs_<app id>_<JWT>`)",
        _L + r"(?P<s>gh[us]_[A-Za-z0-9]{36}(?![A-Za-z0-9_])|ghs_[0-9]{1,12}_"
        r"eyJ[A-Za-z0-9_-]{10,2000}\.eyJ[A-Za-z0-9_-]{10,4000}\.[A-Za-z0-9_-]{16,1000}"
        r"(?![A-Za-z0-9_-]))",
        ("ghu_", "ghs_"),
        "ghs_{an:36}",
        entropy=3.0,
    ),
    _t(
        "github-refresh-token",
        "GitHub refresh token",
        _L + r"(?P<s>ghr_[A-Za-z0-9]{36,76})" + _R,
        ("ghr_",),
        "ghr_{an:36}",
        entropy=3.0,
    ),
    _t(
        "gitlab-pat",
        "GitLab personal, project or group access token",
        _LD
        + r"(?P<s>glpat-[A-Za-z0-9_-]{20}(?:[A-Za-z0-9_-]{7,280}\.[0-9a-z]{2}[0-9a-z]{7})?)"
        + _RD,
        ("glpat-",),
        "glpat-{url:20}",
        entropy=3.0,
    ),
    _t(
        "gitlab-deploy-token",
        "GitLab deploy token",
        _LD + r"(?P<s>gldt-[A-Za-z0-9_-]{20})" + _RD,
        ("gldt-",),
        "gldt-{url:20}",
        entropy=3.0,
    ),
    _t(
        "gitlab-runner-token",
        "GitLab runner authentication or registration token",
        _LD + r"(?P<s>glrt-[A-Za-z0-9_-]{20}(?:[A-Za-z0-9_-]{7,280}\.[0-9a-z]{2}[0-9a-z]{7})?"
        r"|GR1348941[A-Za-z0-9_-]{20,50})" + _RD,
        ("glrt-", "gr1348941"),
        "glrt-{url:20}",
        entropy=3.0,
    ),
    _t(
        "gitlab-pipeline-trigger-token",
        "GitLab pipeline trigger token",
        _LD + r"(?P<s>glptt-[A-Za-z0-9_-]{40})" + _RD,
        ("glptt-",),
        "glptt-{hex:40}",
        entropy=3.0,
    ),
    _t(
        "gitlab-other-token",
        "GitLab CI job, incoming-mail, agent, OAuth application, SCIM or feed token",
        _LD + r"(?P<s>glcbt-[A-Za-z0-9]{1,5}_[A-Za-z0-9_-]{20}|glimt-[A-Za-z0-9_-]{25}"
        r"|glagent-[A-Za-z0-9_-]{50,1024}|gloas-[A-Za-z0-9_-]{64}|glsoat-[A-Za-z0-9_-]{20,50}"
        r"|glft-[A-Za-z0-9_-]{20})" + _RD,
        ("glcbt-", "glimt-", "glagent-", "gloas-", "glsoat-", "glft-"),
        "glimt-{url:25}",
        entropy=3.0,
    ),
    _t(
        "bitbucket-app-password",
        "Bitbucket app password or access token",
        _L
        + r"(?P<s>ATBB[A-Za-z0-9_=.-]{28,32}[A-F0-9]{8}|ATCTT3xFfGN0[A-Za-z0-9_=-]{170,190})"
        + _RD,
        ("atbb", "atctt3xffgn0"),
        "ATBB{an:28}{HEX:8}",
        entropy=3.0,
    ),
    _t(
        "atlassian-api-token",
        "Atlassian (Jira, Confluence) API token",
        r"(?:(?i:jira|confluence|atlassian)[\w.-]{0,20}[\"']?\s{0,5}(?:=|:|=>|:=)\s{0,5}[\"']?"
        r"(?P<s>[A-Za-z0-9]{24})(?![A-Za-z0-9])|" + _L + r"(?P<u>ATATT3[A-Za-z0-9_=-]{186}))",
        ("jira", "confluence", "atlassian", "atatt3"),
        "JIRA_API_TOKEN={an:24}",
        entropy=3.5,
        check=_mixed,
    ),
    _t(
        "sonar-token",
        "SonarQube / SonarCloud token",
        r"(?i:sonar)[\w.-]{0,20}[\"']?\s{0,5}(?::{0,3}=|:|=>|\?=)\s{0,5}[\"']?"
        r"(?P<s>(?:sq[pua]_)?[A-Za-z0-9]{40})(?![A-Za-z0-9])",
        ("sonar",),
        "SONAR_TOKEN=squ_{an:40}",
        entropy=3.0,
        check=_mixed,
    ),
    _t(
        "snyk-token",
        "Snyk API token (a UUID assigned to a snyk-named setting)",
        r"(?i:snyk)" + _SET + r"(?P<s>" + _UUID + ")",
        ("snyk",),
        "SNYK_TOKEN={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    _t(
        "sourcegraph-token",
        "Sourcegraph access token",
        r"(?:"
        + _L
        + r"(?P<s>sgp_(?:[a-fA-F0-9]{16}_|local_)?[a-fA-F0-9]{40})"
        + _R
        + r"|(?i:sourcegraph)"
        + _SET
        + r"(?P<u>[a-fA-F0-9]{40})"
        + _R
        + ")",
        ("sgp_", "sourcegraph"),
        "sgp_{hex:16}_{hex:40}",
        entropy=3.0,
    ),
    # ---------------------------------------------------------------- chat, mail, payments
    _t(
        "slack-bot-token",
        "Slack bot token",
        _L + r"(?P<s>xoxb-[0-9]{8,13}-(?:[0-9]{10,13}-)?[A-Za-z0-9]{18,34})" + _RD,
        ("xoxb-",),
        "xoxb-{dig:12}-{dig:13}-{an:24}",
        entropy=3.0,
        check=_mixed,
    ),
    _t(
        "slack-user-token",
        "Slack user, workspace or legacy token",
        _L
        + r"(?P<s>xox[pesoar]-(?:[0-9]-)?[0-9]{6,13}-[0-9]{6,13}-[0-9]{6,13}-[A-Za-z0-9]{10,64})"
        + _RD,
        ("xoxp-", "xoxe-", "xoxs-", "xoxo-", "xoxa-", "xoxr-"),
        "xoxp-{dig:12}-{dig:12}-{dig:12}-{hex:32}",
        entropy=2.5,
    ),
    _t(
        "slack-app-token",
        "Slack app-level token",
        r"(?i:" + _L + r"(?P<s>xapp-\d-[A-Z0-9]{9,12}-\d{10,14}-[a-z0-9]{32,64}))",
        ("xapp-",),
        "xapp-1-{UP:11}-{dig:13}-{hex:64}",
        entropy=3.0,
    ),
    _t(
        "slack-config-token",
        "Slack app configuration access or refresh token",
        _L + r"(?P<s>xoxe(?:\.xox[bp])?-\d-[A-Za-z0-9]{140,180})" + _R,
        ("xoxe",),
        "xoxe.xoxp-1-{an:146}",
        entropy=3.0,
    ),
    _t(
        "slack-webhook",
        "Slack incoming webhook or workflow URL",
        r"(?P<s>hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9+/]{30,80})",
        ("hooks.slack.com",),
        "https://hooks.slack.com/services/T{UP:8}/B{UP:8}/{an:24}",
        entropy=3.0,
    ),
    _t(
        "microsoft-teams-webhook",
        "Microsoft Teams incoming webhook URL",
        r"(?P<s>(?:[a-z0-9-]{1,63}\.webhook|outlook)\.office(?:365)?\.com/webhook(?:b2)?/"
        + _UUID
        + "@"
        + _UUID
        + r"/IncomingWebhook/[a-f0-9]{32}/"
        + _UUID
        + r"(?:/[A-Za-z0-9_-]{20,80})?)",
        ("webhook.office.com", "outlook.office.com", "outlook.office365.com"),
        "https://shop.webhook.office.com/webhookb2/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}@{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}/IncomingWebhook/{hex:32}/{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        entropy=3.0,
    ),
    _t(
        "discord-webhook",
        "Discord webhook URL",
        r"discord(?:app)?\.com/api(?:/v[0-9]{1,2})?/webhooks/(?P<s>[0-9]{17,20}/[A-Za-z0-9_-]{60,68})"
        + _RD,
        ("discord.com/api", "discordapp.com/api"),
        "https://discord.com/api/webhooks/{dig:19}/{url:68}",
        entropy=3.5,
    ),
    _t(
        "pagerduty-key",
        "PagerDuty Events API routing or integration key assigned to a PagerDuty setting",
        r"(?i:pagerduty[\w.-]{0,20}|routing_?key|service_?key|integration_?key)[\"']?\s{0,5}"
        r"(?::{0,3}=|:|=>|\?=)\s{0,5}[\"']?(?P<s>[A-Za-z0-9]{32})(?![A-Za-z0-9])",
        (
            "pagerduty",
            "routing_key",
            "routingkey",
            "service_key",
            "servicekey",
            "integration_key",
            "integrationkey",
        ),
        "routing_key: R0{an:30}",
        entropy=3.0,
        check=_mixed,
    ),
    _t(
        "pagerduty-api-key",
        "PagerDuty REST API key (a user key: `u+` and 18 characters; or 20 characters assigned "
        "to a PagerDuty setting)",
        r"(?:(?<![A-Za-z0-9_+/-])(?P<s>u\+[A-Za-z0-9_+-]{18})(?![A-Za-z0-9_+/=-])"
        r"|(?<![A-Za-z0-9])(?i:pagerduty)"
        + _SET
        + r"(?P<u>[A-Za-z0-9_+-]{20})(?![A-Za-z0-9_+/=-]))",
        ("u+", "pagerduty"),
        "PAGERDUTY_TOKEN: u+{url:18}",
        entropy=3.0,
        check=_mixed,
    ),
    _t(
        "discord-bot-token",
        "Discord bot token",
        _L + r"(?P<s>[MNO][A-Za-z0-9_-]{23,25}\.[A-Za-z0-9_-]{6}\.[A-Za-z0-9_-]{27,38})" + _RD,
        ("discord",),
        "DISCORD_BOT_TOKEN=M{url:25}.{url:6}.{url:27}",
        entropy=3.5,
        check=_mixed,
    ),
    _t(
        "telegram-bot-token",
        "Telegram bot token",
        r"(?<![A-Za-z0-9_:])(?P<s>[0-9]{8,10}:AA[A-Za-z0-9_-]{33})" + _RD,
        (":aa",),
        "{dig:10}:AA{url:33}",
        entropy=3.0,
    ),
    _t(
        "stripe-secret-key",
        "Stripe secret or restricted key (live, test or prod)",
        _L + r"(?P<s>(?:sk|rk)_(?:test|live|prod)_[A-Za-z0-9]{20,247})" + _R,
        ("sk_live_", "sk_test_", "sk_prod_", "rk_live_", "rk_test_", "rk_prod_"),
        "sk_live_{an:24}",
        entropy=3.0,
    ),
    _t(
        "square-token",
        "Square access token or OAuth secret",
        _L + r"(?P<s>sq0(?:atp|csp)-[A-Za-z0-9_-]{22,43}|EAAA[A-Za-z0-9_+=-]{60})" + _RD,
        ("sq0atp-", "sq0csp-", "eaaa"),
        "sq0atp-{url:22}",
        entropy=3.0,
    ),
    _t(
        "twilio-api-key",
        "Twilio API key SID",
        _L + r"(?P<s>SK[0-9a-fA-F]{32})" + _R,
        ("twilio",),
        "TWILIO_API_KEY=SK{hex:32}",
        entropy=3.0,
    ),
    _t(
        "sendgrid-api-key",
        "SendGrid API key",
        _L + r"(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})" + _RD,
        ("sg.",),
        "SG.{url:22}.{url:43}",
        entropy=3.0,
    ),
    _t(
        "mailchimp-api-key",
        "Mailchimp API key",
        _L + r"(?P<s>[0-9a-f]{32}-us[0-9]{1,2})" + _R,
        ("-us",),
        "{hex:32}-us6",
        entropy=3.0,
    ),
    _t(
        "mailgun-api-key",
        "Mailgun private API key (legacy `key-` or current `<32 hex>-<8 hex>-<8 hex>` form)",
        r"(?i:mailgun)[\s\S]{0,60}?"
        + _L
        + r"(?P<s>key-[0-9a-f]{32}|[0-9a-f]{32}-[0-9a-f]{8}-[0-9a-f]{8})"
        + _RD,
        ("mailgun",),
        "MAILGUN_API_KEY=key-{hex:32}",
        entropy=3.0,
        multiline=True,
    ),
    _t(
        "facebook-access-token",
        "Facebook / Meta access token, or an app token (app id|app secret)",
        _L
        + r"(?P<s>EAA[CM][A-Za-z0-9]{100,255}|[0-9]{15,16}(?:\||%7[Cc])[A-Za-z0-9_-]{27,40})"
        + _RD,
        ("eaac", "eaam", "facebook", "fb_", "access_token"),
        "EAAM{an:120}",
        entropy=3.5,
        check=_mixed,
    ),
    _t(
        "facebook-app-secret",
        "Facebook / Meta app secret or client token assigned to a facebook-named setting",
        r"(?i:facebook)" + _SET + r"(?P<s>[a-f0-9]{32})" + _R,
        ("facebook",),
        "FACEBOOK_APP_SECRET={hex:32}",
        entropy=3.0,
    ),
    _t(
        "hubspot-api-key",
        "HubSpot API key or private-app token",
        r"(?:"
        + _L
        + r"(?P<s>pat-(?:na|eu)[0-9]-"
        + _UUID
        + ")"
        + _R
        + r"|(?i:hubspot)"
        + _SET
        + r"(?P<u>"
        + _UUID
        + "))",
        ("hubspot", "pat-na", "pat-eu"),
        "HUBSPOT_API_KEY={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
    ),
    _t(
        "messagebird-key",
        "MessageBird access key or client id assigned to a messagebird-named setting",
        r"(?i:message[_-]?bird)" + _SET + r"(?P<s>" + _UUID + r"|[A-Za-z0-9]{25})" + _R,
        ("messagebird", "message_bird", "message-bird"),
        "MESSAGEBIRD_ACCESS_KEY={an:25}",
    ),
    # ---------------------------------------------------------------- package registries
    _t(
        "npm-token",
        "npm access token",
        _L + r"(?P<s>npm_[A-Za-z0-9]{36})" + _R,
        ("npm_",),
        "npm_{an:36}",
        entropy=3.0,
    ),
    _t(
        "npmrc-auth",
        "Registry credential in an .npmrc (_authToken, _auth or _password for a registry URL)",
        r"//[^\s/:]{1,200}(?:/[^\s:]{0,200})?/?:_(?:authToken|auth|password)\s{0,3}=\s{0,3}"
        r"[\"']?(?P<s>[A-Za-z0-9_+/=.-]{8,})",
        ("_authtoken", ":_auth", ":_password"),
        "//registry.npmjs.org/:_authToken={hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}",
        entropy=2.5,
    ),
    _t(
        "pypi-token",
        "PyPI or TestPyPI upload token (a macaroon: its id and signature make it long)",
        _L + r"(?P<s>pypi-AgE(?:IcHlwaS5vcmc|NdGVzdC5weXBpLm9yZw)[A-Za-z0-9_-]{70,1000})" + _RD,
        ("pypi-age",),
        "pypi-AgEIcHlwaS5vcmc{url:90}",
        entropy=3.0,
    ),
    _t(
        "dockerhub-token",
        "Docker Hub personal or organisation access token",
        _L + r"(?P<s>dckr_(?:pat|oat)_[A-Za-z0-9_-]{27,32})" + _RD,
        ("dckr_",),
        "dckr_pat_{url:27}",
        entropy=3.0,
    ),
    _t(
        "docker-config-auth",
        "Registry credential in a Docker config (auths: {registry: {auth: base64(user:pass)}})",
        # also as escaped JSON inside a string (GitLab's DOCKER_AUTH_CONFIG)
        # (`"auth` first, in both forms: the regex engine scans for a literal prefix)
        r"\"auth\\?\"\s{0,5}:\s{0,5}\\?\"(?P<s>[A-Za-z0-9+/]{8,}={0,2})\\?\"",
        ("auths",),
        '{"auths": {"registry.example.net": {"auth": "{b64:24}"}}}',
        check=_docker_auth,
        multiline=True,
        literal='"auth',
    ),
    _t(
        "artifactory-token",
        "JFrog Artifactory API key or reference token",
        _L + r"(?P<s>AKCp[A-Za-z0-9]{69}|cmVmd[A-Za-z0-9]{59})" + _R,
        ("akcp", "cmvmd"),
        "AKCp{an:69}",
        entropy=4.0,
    ),
    _t(
        "nuget-cleartext-password",
        "Package-source password (cleartext or machine-encrypted) in a NuGet.config",
        r"<add\s+key=[\"'](?i:(?:ClearText)?Password)[\"']\s+value=[\"']"
        r"(?P<s>[^\"'%][^\"']{6,}[^\"'%])[\"']",
        ("cleartextpassword", 'key="password"', "key='password'"),
        '<add key="ClearTextPassword" value="{an:16}" />',
        entropy=2.5,
        path=r"(?i)(?:^|/)nuget\.config$",
    ),
    # ---------------------------------------------------------------- keys, tokens, identity
    _t(
        "private-key",
        "Private key block (RSA, EC, DSA, OpenSSH, PKCS#8, PGP, PuTTY)",
        r"(?P<s>-----BEGIN[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[\sA-Za-z0-9+/=:,.\\]|-(?!----)){64,20000}?"  # `\n` escapes in a string too
        r"-----END[ A-Z0-9_-]{0,100}PRIVATE KEY(?: BLOCK)?-----)",
        ("private key",),
        "-----BEGIN RSA PRIVATE KEY-----\\n{b64:64}\\n-----END RSA PRIVATE KEY-----",
        check=_whole_key,
        markers_ok=True,
        multiline=True,
    ),
    _t(
        "putty-private-key",
        "PuTTY private key file",
        r"(?P<s>PuTTY-User-Key-File-[23]:[^\n]{1,100}\n[\s\S]{0,2000}?Private-Lines:\s*\d+\n"
        r"[A-Za-z0-9+/=\n]{40,10000})",
        ("putty-user-key-file",),
        "PuTTY-User-Key-File-3: ssh-ed25519\\n...Private-Lines: 1\\n{b64:44}",
        markers_ok=True,
        multiline=True,
    ),
    _t(
        "jwt",
        "JSON Web Token (header and payload decode to JSON)",
        # the signature may be absent (an unsecured JWT still carries its claims)
        _L + r"(?P<s>eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}(?:\.[A-Za-z0-9_-]*)?)",
        ("eyj",),
        "eyJ{url:30}.eyJ{url:40}.{url:43} (a signed JWT)",
        entropy=3.0,
        check=_jwt,
        markers_ok=True,
    ),
    _t(
        "kubeconfig-client-key",
        "kubeconfig client-key-data (base64 of a private key)",
        r"client-key-data:\s{0,5}[\"']?(?P<s>[A-Za-z0-9+/]{40,}={0,2})",
        ("client-key-data",),
        "client-key-data: LS0tLS1CRUdJTi{b64:60}",
        markers_ok=True,
    ),
    _t(
        "kubeconfig-token",
        "kubeconfig user token (users[].user.token)",
        r"(?m:^[ \t]{2,12}token:[ \t]{0,5}[\"']?(?P<s>[A-Za-z0-9._~+/=-]{20,}))",
        ("client-certificate", "current-context", "kind: config\n"),
        "kind: Config\\nusers:\\n- name: ci\\n  user:\\n    token: {an:40}",
        entropy=3.0,
        multiline=True,
    ),
    _t(
        "openshift-token",
        "OpenShift user token",
        _L + r"(?P<s>sha256~[A-Za-z0-9_-]{43})" + _RD,
        ("sha256~",),
        "sha256~{url:43}",
        entropy=3.5,
    ),
    _t(
        "vault-token",
        "HashiCorp Vault service or batch token",
        _L + r"(?P<s>hvs\.[A-Za-z0-9_-]{90,120}|hvb\.[A-Za-z0-9_-]{138,300}"
        r"|s\.[A-Za-z0-9]{24})" + _RD,
        ("hvs.", "hvb.", "vault", "s."),
        "hvs.{url:95}",
        entropy=3.5,
        check=_mixed,
        word_start=("s.",),
        quoted_in_code=("s.",),
    ),
    _t(
        "terraform-cloud-token",
        "Terraform Cloud / Enterprise API token",
        r"(?P<s>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,70})",
        ("atlasv1",),
        "{an:14}.atlasv1.{url:67}",
        entropy=3.5,
    ),
    _t(
        "age-secret-key",
        "age encryption secret key",
        r"(?P<s>AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58})",
        ("age-secret-key-1",),
        "AGE-SECRET-KEY-1{bech:58}",
    ),
    _t(
        "onepassword-token",
        "1Password service-account token or account secret key",
        _L + r"(?P<s>ops_eyJ[A-Za-z0-9+/]{250,}={0,3}|A3-[A-Z0-9]{6}-(?:[A-Z0-9]{11}|"
        r"[A-Z0-9]{6}-[A-Z0-9]{5})-[A-Z0-9]{5}-[A-Z0-9]{5}-[A-Z0-9]{5})" + _RD,
        ("ops_eyj", "a3-"),
        "A3-{UP:6}-{UP:11}-{UP:5}-{UP:5}-{UP:5}",
        entropy=3.0,
    ),
    _t(
        "okta-token",
        "Okta API token",
        r"(?i:(?<![a-z])okta)[\w.-]{0,20}[\"']?\s{0,5}(?:=|:|=>|:=)\s{0,5}[\"']?(?P<s>00[A-Za-z0-9_-]{40})"
        + _RD,
        ("okta",),
        "OKTA_API_TOKEN=00{url:40}",
        entropy=4.0,
    ),
    # ---------------------------------------------------------------- SaaS developer tools
    _t(
        "openai-api-key",
        "OpenAI API key",
        _L
        + r"(?P<s>sk-(?:(?:proj|svcacct|admin)-)?[A-Za-z0-9_-]{16,74}T3BlbkFJ[A-Za-z0-9_-]{16,74})"
        + _RD,
        ("t3blbkfj",),
        "sk-proj-{an:20}T3BlbkFJ{an:20}",
        entropy=3.0,
    ),
    _t(
        "anthropic-api-key",
        "Anthropic API or admin key",
        _L + r"(?P<s>sk-ant-(?:api03|admin01)-[A-Za-z0-9_-]{93}AA)" + _RD,
        ("sk-ant-",),
        "sk-ant-api03-{url:93}AA",
        entropy=3.0,
        markers_ok=True,
    ),
    _t(
        "huggingface-token",
        "Hugging Face access or organisation token",
        _L + r"(?P<s>hf_[A-Za-z]{34}|api_org_[A-Za-z]{34})" + _R,
        ("hf_", "api_org_"),
        "hf_{al:34}",
        entropy=3.0,
    ),
    _t(
        "intra42-client-secret",
        "42 Network (Intra 42) OAuth client secret",
        _L + r"(?P<s>s-s4t2(?:ud|af)-[a-f0-9]{64})" + _R,
        ("s-s4t2ud-", "s-s4t2af-"),
        "s-s4t2ud-{hex:64}",
        entropy=3.0,
    ),
    _t(
        "databricks-token",
        "Databricks personal access token",
        _L + r"(?P<s>dapi[a-f0-9]{32}(?:-\d)?)" + _RD,
        ("dapi",),
        "dapi{hex:32}",
        entropy=3.0,
    ),
    _t(
        "grafana-token",
        "Grafana service-account or Grafana Cloud token",
        _L + r"(?P<s>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,400}={0,2})" + _R,
        ("glsa_", "glc_"),
        "glsa_{an:32}_{hex:8}",
        entropy=3.0,
    ),
    _t(
        "sentry-token",
        "Sentry organisation or user auth token",
        _L + r"(?P<s>sntrys_eyJ[A-Za-z0-9+/=]{60,400}_[A-Za-z0-9+/]{43}|sntryu_[a-f0-9]{64})",
        ("sntrys_", "sntryu_"),
        "sntryu_{hex:64}",
        entropy=3.0,
    ),
    _t(
        "pulumi-token",
        "Pulumi access token",
        _L + r"(?P<s>pul-[a-f0-9]{40})" + _R,
        ("pul-",),
        "pul-{hex:40}",
        entropy=3.0,
    ),
    _t(
        "doppler-token",
        "Doppler service, personal or CLI token",
        _L + r"(?P<s>dp\.(?:pt|st|ct|sa|scim|audit)\.[A-Za-z0-9]{40,44})" + _R,
        ("dp.pt.", "dp.st.", "dp.ct.", "dp.sa.", "dp.scim.", "dp.audit."),
        "dp.st.{an:43}",
        entropy=3.0,
    ),
    _t(
        "shopify-token",
        "Shopify access, custom-app, private-app or shared secret",
        _L + r"(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})" + _R,
        ("shpat_", "shpca_", "shppa_", "shpss_"),
        "shpat_{hex:32}",
        entropy=3.0,
    ),
    _t(
        "flyio-token",
        "Fly.io access token",
        r"(?P<s>(?<![A-Za-z0-9_])fo1_[A-Za-z0-9_-]{43}"
        r"|FlyV1 fm[12][ar]?_[A-Za-z0-9+/]{100,}={0,3})",
        ("fo1_", "flyv1"),
        "fo1_{url:43}",
        entropy=3.5,
    ),
    _t(
        "notion-token",
        "Notion integration token",
        _L + r"(?P<s>ntn_[0-9]{11}[A-Za-z0-9]{35}|secret_[A-Za-z0-9]{43})" + _R,
        ("ntn_", "secret_"),
        "ntn_{dig:11}{an:35}",
        entropy=3.5,
    ),
    _t(
        "infracost-token",
        "Infracost API token",
        r"(?<![A-Za-z0-9_.])(?P<s>ico-[A-Za-z0-9]{32})" + _R,
        ("ico-",),
        "ico-{an:32}",
        entropy=3.0,
    ),
    _t(
        "scalingo-token",
        "Scalingo API token",
        _L + r"(?P<s>tk-us-[A-Za-z0-9_-]{48})" + _RD,
        ("tk-us-",),
        "tk-us-{url:48}",
        entropy=3.0,
    ),
    _t(
        "sumologic-access-key",
        "Sumo Logic access ID or key assigned to a sumo-named setting",
        r"(?i:sumo(?:logic)?)(?![a-z])[\w.-]{0,20}[\"']?\s{0,5}(?:=|:|=>|:=)\s{0,5}[\"']?"
        r"(?P<s>su[A-Za-z0-9]{12}|[A-Za-z0-9]{64})(?![A-Za-z0-9])",
        ("sumo",),
        "SUMO_ACCESS_KEY={an:64}",
        entropy=3.0,
        check=_mixed,
    ),
    _t(
        "octopus-deploy-key",
        "Octopus Deploy API key",
        _L + r"(?P<s>API-[A-Z0-9]{26})" + _R,
        ("api-",),
        "API-{UP:26}",
        entropy=3.0,
        check=_mixed,
    ),
    _t(
        "sidekiq-credentials",
        "Sidekiq Pro/Enterprise gem-server credentials",
        r"(?:BUNDLE_(?:ENTERPRISE|GEMS)__CONTRIBSYS__COM[\"']?\s{0,5}[:=]\s{0,5}[\"']?"
        r"(?P<s>[a-f0-9]{8}:[a-f0-9]{8})|https?://(?P<u>[a-f0-9]{8}:[a-f0-9]{8})@"
        r"(?:gems|enterprise)\.contribsys\.com)",
        ("contribsys",),
        "BUNDLE_GEMS__CONTRIBSYS__COM={hex:8}:{hex:8}",
    ),
    # ---------------------------------------------------------------- credentials in context
    _t(
        "url-credentials",
        "Password embedded in a URL (scheme://user:password@host)",
        r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]{1,20})://(?P<u>[^\s:/@\"'<>{}()\[\]$`]{0,100}):"
        r"(?P<s>[^\s/@\"'<>{}()\[\]`]{1,200})@(?P<host>[A-Za-z0-9][A-Za-z0-9.-]{0,253})",
        ("://",),
        "postgres://app:{an:16}@db.shop.internal:5432/orders",
    ),
    _t(
        "curl-basic-auth",
        "Credentials passed to curl with -u/--user user:password",
        r"curl\b(?:[^\n]|\\\n){0,300}?\s(?:-u|--user)[ \t=]{1,3}[\"']?\{?"
        r"(?P<u>[^\s:\"'$<>{}]{0,100})\}?[\"']?:"
        # the password, or none at all (an API key passed as the user: `-u KEY:`)
        r"(?:[\"']?(?P<brace>\{)?(?P<s>[^\s\"'$<>{}][^\s\"'<>{}]{3,200})|(?=[\"'\s])|\Z)",
        ("curl",),
        "curl -u deploy:{an:16} https://api.shop.internal/",
        entropy=2.5,
        multiline=True,
    ),
    _t(
        "authorization-header",
        "Literal credential in an Authorization / API-key header",
        # `(?=[aptx])`: the first letters of the header names, tested before the names are
        # tried at every blank of a line (an indented line has dozens)
        r"(?i:[\"'\s](?=[aptx])(?:authorization|x-api-key|api-key|apikey|api-token|"
        r"x-auth-token|token|private-token|x-[a-z]{1,20}-api-?key)\s{0,3}:)\s{0,3}"
        r"(?:(?i:basic|bearer|token|api-token)\s{1,3})?(?P<s>[A-Za-z0-9_~+/.=:@-]{8,500})",
        ("authorization:", "api-key:", "apikey:", "api-token:", "auth-token:", "token:"),
        'curl -H "Authorization: Bearer {an:32}" https://api.shop.internal/',
        entropy=2.75,
        quoted_in_code=("",),
    ),
)

BY_ID: dict[str, TokenType] = {t.id: t for t in TOKEN_TYPES}
