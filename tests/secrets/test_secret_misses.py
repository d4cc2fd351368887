"""Secrets the detector must not miss: weak values under secret-named keys, defaults in URLs,
token formats written inside strings, and formats other scanners know. Values are built at
run time from parts, so no file here holds a credential-shaped string."""

from __future__ import annotations

import base64
import json

from deploysafe.secrets.detect import analyse
from tests.support.secretgen import expand

UUID = "{hex:8}-{hex:4}-{hex:4}-{hex:4}-{hex:12}"


def _ids(text: str, name: str = "settings.yaml") -> list[tuple[str, int, str]]:
    """(type, line, secret) of the tokens found, by line."""
    return sorted(
        ((h.type.id, h.line, h.secret) for h in analyse(text, name).tokens), key=lambda t: t[1]
    )


def test_weak_values_under_secret_and_token_names_are_credentials() -> None:
    weak = ("hunter2" * 2, "my" + "supersecret" + "key", "letmein" + "please")
    text = (
        f"CLIENT_SECRET: {weak[0]}\nSECRET_KEY: {weak[1]}\nAPI_TOKEN: {weak[2]}\n"
        f"DB_PASSWORD: {weak[2]}\n"
    )
    found = analyse(text, "values.yaml").credentials
    assert [(a.key, a.value, a.line, a.column) for a in found] == [
        ("CLIENT_SECRET", weak[0], 1, 16),
        ("SECRET_KEY", weak[1], 2, 13),
        ("API_TOKEN", weak[2], 3, 12),
        ("DB_PASSWORD", weak[2], 4, 14),
    ]


def test_secret_named_keys_still_skip_references_placeholders_and_object_names() -> None:
    text = (
        "CLIENT_SECRET: ${CLIENT_SECRET}\n"
        "API_TOKEN: '{{ .Values.apiToken }}'\n"
        "SECRET_KEY: <your-secret-key>\n"
        "existingSecret: shop-release-secret\n"
        "secretKey: DATABASE_URL\n"
        "secret: true\n"
        "tokenFile: /run/secrets/token\n"
        "existingUserSecretKey: username\n"
        "apiToken: YourPingdomApiToken\n"
        "{{- range $secret := $global.Values.image.pullSecrets }}\n"
        '"token": "xoxp-…"\n'
    )
    result = analyse(text, "values.yaml")
    assert result.credentials == [] and result.defaults == []


def test_a_default_padded_with_digits_is_a_default_under_any_credential_name() -> None:
    padded = "CHANGE" + "ME" + "0" * 8
    text = f"login_token:\n  signing_key: {padded}\nadmin_password: {'admin'}2024\n"
    result = analyse(text, "kiali.yaml")
    assert [(a.key, a.value, a.line) for a in result.defaults] == [
        ("signing_key", padded, 2),
        ("admin_password", "admin2024", 3),
    ]
    assert result.credentials == []


def test_default_password_in_a_connection_url() -> None:
    pw = "pass" + "word"
    text = (
        f"DATABASE_URL: mysql://root:{pw}@db:3306/app\n"
        f"CACHE_URL: redis://:{'change'}me@cache:6379\n"
        f"LOCAL_URL: postgres://app:{pw}@localhost/app\n"
        "REF_URL: postgres://app:${DB_PASSWORD}@db/app\n"
        f"# in the form postgresql://login:{pw}@db:5432/app\n"
        f"TEMPLATE_URL: postgresql://login:{pw}@hostname:5432/app\n"
    )
    result = analyse(text, "compose.yaml")
    assert [(a.key, a.value, a.line, a.column) for a in result.defaults] == [
        ("the login in a mysql URL", pw, 1, 28),
        ("the login in a redis URL", "changeme", 2, 21),
    ]
    assert result.tokens == [] and result.credentials == []


def test_quoted_dotted_literal_is_not_an_attribute_reference() -> None:
    value = expand("{an:4}.{an:5}.{an:3}", 21)
    text = (
        f'password: "{value}"\n'
        'password: "spring.datasource.password"\n'
        f"password: {value.lower().replace('0', 'a')}\n"
    )
    found = analyse(text, "app.yaml").credentials
    assert [(a.value, a.line) for a in found] == [(value, 1)]
    code = f'db.password = "{value}"\nother.password = settings.db.password\n'
    assert [(a.value, a.line) for a in analyse(code, "app.py").credentials] == [(value, 1)]


def test_github_app_installation_token_long_form() -> None:
    header = base64.urlsafe_b64encode(b'{"alg":"RS256","typ":"JWT"}').decode().rstrip("=")
    payload = base64.urlsafe_b64encode(json.dumps({"iss": "7"}).encode()).decode().rstrip("=")
    token = "gh" + "s_" + f"12345_{header}.{payload}.{expand('{url:43}', 22)}"
    assert _ids(f"GH_TOKEN={token}\n", ".env") == [("github-app-token", 1, token)]


def test_docker_auths_as_escaped_json_in_a_string() -> None:
    auth = base64.b64encode(("ci-bot:" + expand("{an:20}", 23)).encode()).decode()
    inner = json.dumps({"auths": {"registry.shop.internal": {"auth": auth}}})
    text = f"variables:\n  DOCKER_AUTH_CONFIG: {json.dumps(inner)}\n"
    assert _ids(text, ".gitlab-ci.yml") == [("docker-config-auth", 2, auth)]


def test_private_key_and_service_account_with_escaped_newlines() -> None:
    head, tail = "-----BEGIN " + "PRIVATE KEY-----", "-----END " + "PRIVATE KEY-----"
    body = expand("{b64:64}\\n{b64:64}", 24).replace("\n", "\\n")
    pem = f"{head}\\n{body}\\n{tail}"
    assert _ids(f'tls_key = "{pem}\\n"\n', "main.tf") == [("private-key", 1, pem)]
    key_id = expand("{hex:40}", 25)
    doc = json.dumps({"type": "service_" + "account", "private_key_id": key_id})
    text = f"gcp:\n  credentials: {json.dumps(doc)}\n"
    assert _ids(text, "values.yaml") == [("gcp-service-account", 2, key_id)]


def test_entra_client_secret_starting_with_a_dash() -> None:
    secret = "-" + expand("{an:2}", 26) + "8Q" + "~" + expand("{an:34}", 27)
    assert _ids(f"AZURE_CLIENT_SECRET={secret}\n", ".env") == [
        ("azure-ad-client-secret", 1, secret)
    ]


def test_mailgun_current_key_format() -> None:
    key = expand("{hex:32}-{hex:8}-{hex:8}", 28)
    assert _ids(f"MAILGUN_API_KEY={key}\n", ".env") == [("mailgun-api-key", 1, key)]


def test_camel_case_names_for_typed_tokens() -> None:
    key = expand("{an:64}", 29)
    assert _ids(f"sumoKey: {key}\n") == [("sumologic-access-key", 1, key)]
    assert _ids(f"const sumoAccessKey = '{key}'\n", "app.js") == [("sumologic-access-key", 1, key)]


def test_azure_sas_token_in_a_url() -> None:
    sig = expand("{an:40}", 30) + "%2B" + expand("{an:3}", 31) + "%3D"
    url = (
        "https://shop.blob.core.windows.net/backups?sv=2022-11-02&ss=b&srt=co&sp=rl"
        f"&se=2031-01-01T00:00:00Z&sig={sig}"
    )
    assert _ids(f"BACKUP_URL: {url}\n") == [("azure-sas-token", 1, sig)]
    assert _ids("url: https://x.blob.core.windows.net/c?sv=2022-11-02&sig=${SAS}\n") == []


def test_pagerduty_teams_discord_and_azure_devops() -> None:
    routing = "R0" + expand("{an:30}", 32)
    teams = expand(
        f"https://shop.webhook.office.com/webhookb2/{UUID}@{UUID}/IncomingWebhook/{{hex:32}}/{UUID}",
        33,
    )
    discord = expand("{dig:19}/{url:68}", 34)
    pat = expand("{an:52}", 35) + "JQQJ" + "99" + expand("{an:18}", 36) + "AZDO" + "abcd"
    legacy = expand("{b32:52}", 37).lower()
    text = (
        "receivers:\n- pagerduty_configs:\n  - routing_key: " + routing + "\n"
        f"TEAMS_WEBHOOK: {teams}\n"
        f"DISCORD_WEBHOOK: https://discord.com/api/webhooks/{discord}\n"
        f"AZDO_TOKEN: {pat}\n"
        f"AZURE_DEVOPS_PAT: {legacy}\n"
    )
    assert _ids(text, "alertmanager.yaml") == [
        ("pagerduty-key", 3, routing),
        ("microsoft-teams-webhook", 4, teams.removeprefix("https://")),
        ("discord-webhook", 5, discord),
        ("azure-devops-pat", 6, pat),
        ("azure-devops-pat", 7, legacy),
    ]


def test_xml_element_and_attribute_values() -> None:
    pw = expand("{an:14}", 41)
    weak = "hunter2" * 2
    text = (
        "<settings><servers><server>\n"
        "  <id>nexus</id>\n"
        f"  <password>{pw}</password>\n"
        "  <password>${env.NEXUS_PASSWORD}</password>\n"
        "  <password>{" + expand("{b64:20}", 42) + "=}</password>\n"
        "  <password>" + "change" + "it</password>\n"
        "</server></servers></settings>\n"
    )
    result = analyse(text, "settings.xml")
    assert [(a.key, a.value, a.line, a.column) for a in result.credentials] == [
        ("password", pw, 3, 13)
    ]
    assert [(a.key, a.line) for a in result.defaults] == [("password", 6)]
    config = f'<appSettings>\n  <add key="ApiToken" value="{weak}" />\n</appSettings>\n'
    found = analyse(config, "app.config").credentials
    assert [(a.key, a.value, a.line, a.column) for a in found] == [("ApiToken", weak, 2, 30)]


def test_secret_manifest_in_a_template_file_is_read() -> None:
    value = base64.b64encode(expand("{an:14}", 43).encode()).decode()
    text = (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n"
        f"  password: {value}\n"
        "  user: {{ db_user | b64encode }}\n"
    )
    found = analyse(text, "roles/db/templates/secret.yaml.j2").credentials
    assert [(a.key, a.value, a.line, a.column) for a in found] == [("password", value, 6, 13)]
    assert analyse(text, "k8s/secret.yaml").credentials == []  # DS310 reads that one


def test_a_phrase_after_a_credential_word_is_not_a_setting() -> None:
    text = '\t@echo "== Secrets: committed tokens, build secrets in the image =="\n'
    assert analyse(text, "Makefile").credentials == []
    weak = "hunter2" * 2
    assert [a.value for a in analyse(f"API_TOKEN: {weak}  # rotated\n", "x.yaml").credentials] == [
        weak
    ]


def test_pagerduty_rest_api_keys() -> None:
    user = "u+" + expand("{url:18}", 51)
    account = expand("{an:20}", 52)
    routing = expand("{hex:32}", 59)  # an Events API v2 routing key
    text = (
        f'curl -H "Authorization: Token token={user}" https://api.pagerduty.com/incidents\n'
        f"PAGERDUTY_API_TOKEN: {account}\n"
        f"pagerduty:\n  token: {user}\n"
        "menu+items: U+1F600\n"
        f"PAGERDUTY_INTEGRATION_KEY: {routing}\n"
    )
    assert _ids(text, "ops.sh") == [
        ("pagerduty-api-key", 1, user),
        ("pagerduty-api-key", 2, account),
        ("pagerduty-api-key", 4, user),
        ("pagerduty-key", 6, routing),
    ]
    # Inside a longer token (base64 text), `u+` starts nothing.
    blob = expand("{an:10}", 53) + "u+" + expand("{an:18}", 54) + expand("{an:10}", 55)
    assert _ids(f"data: {blob}\n") == []


def test_teams_workflow_urls_of_power_automate_and_logic_apps() -> None:
    sig = expand("{url:43}", 56)
    flow = expand("{hex:32}", 57)
    logic = (
        f"https://prod-12.westeurope.logic.azure.com:443/workflows/{flow}/triggers/manual/"
        f"paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
    )
    platform = (
        f"https://default{expand('{hex:32}', 58)}.0d.environment.api.powerplatform.com:443/"
        f"powerautomate/automations/direct/workflows/{flow}/triggers/manual/paths/invoke"
        f"?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}"
    )
    text = f"TEAMS_WEBHOOK_URL: {logic}\nalerts:\n  url: '{platform}'\n"
    assert _ids(text) == [
        ("microsoft-teams-workflow", 1, logic.removeprefix("https://")),
        ("microsoft-teams-workflow", 3, platform.removeprefix("https://")),
    ]
    unsigned = logic.replace(f"&sig={sig}", "&sig=${TEAMS_SIG}")
    assert _ids(f"TEAMS_WEBHOOK_URL: {unsigned}\n") == []


def test_an_annotation_key_named_after_the_secret_it_marks_is_no_credential() -> None:
    """Code names an annotation or label key, or a Secret type, after the Secret it marks:
    a qualified name with a domain prefix, never a credential. A random value with a slash
    under such a name still is."""
    text = (
        'AllowsInjectionFromSecretAnnotation = "cert-manager.io/allow-direct-injection"\n'
        'secretTypeToken = "kubernetes.io/service-account-token"\n'
        'SecretRotatedLabel = "secrets.example.co.uk/Rotated_At"\n'
    )
    result = analyse(text, "types.go")
    assert result.credentials == [] and result.defaults == []
    key, random = "Secret" + "Key", expand("{an:12}/{an:10}")
    found = analyse(f'{key} = "x9.{random}"\n', "types.go").credentials
    assert [a.key for a in found] == [key]
