"""Secret redaction: every supported format, stable placeholders, benign look-alikes, round trips.

Fake secrets are assembled at run time so this file itself does not look like it leaks credentials.
"""

from __future__ import annotations

import pytest

from agent.context.redact import (
    PLACEHOLDER_RE,
    Redactor,
    contains_placeholder,
    looks_high_entropy,
    redact,
    shannon_entropy,
    unredact,
)
from agent.context.secret_names import is_secret_name, is_weak_secret_name, name_words

R36 = "Xq7bN2mK9pL4vR8tY1wZ3cF6hJ0dS5gA2eU7"  # 36 random-looking characters


def fake(prefix: str, body: str = R36) -> str:
    return prefix + body


AWS_ID = fake("AKIA", "Z7QX4MBN2VLC8PRT")
AWS_SECRET = fake("wJalrXUtnFEMI/K7MDENG/", "bPxRfiCYzQ8kT3mN4p")  # 40 characters
GITHUB = fake("ghp_")
GITHUB_PAT = fake("github_pat_", "11ABCDEFG0_" + R36 + R36[:20])
GITLAB = fake("glpat-", R36[:20])
SLACK = fake("xoxb-", "1234567890-" + R36[:24])
STRIPE = fake("sk_" + "live_", R36[:24])
STRIPE_TEST = fake("sk_" + "test_", R36[:24])
GOOGLE = fake("AIza", R36[:35])
JWT = "eyJhbGciOiJIUzI1NiJ9." + "eyJzdWIiOiIxMjM0NTY3ODkwIn0." + "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
PEM = (
    "-----BEGIN RSA "
    + "PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7bq3\nq9XzR0k+/w==\n-----END RSA "
    + "PRIVATE KEY-----"
)

CASES = [
    ("aws_access_key", f'AWS_ACCESS_KEY_ID = "{AWS_ID}"', AWS_ID),
    ("aws_secret_key", f"aws_secret_access_key={AWS_SECRET}", AWS_SECRET),
    ("github_token", f"client = Github('{GITHUB}')", GITHUB),
    ("github_token", f"auth({GITHUB_PAT!r})", GITHUB_PAT),
    ("gitlab_token", f"gl = gitlab.Gitlab(url, private_token='{GITLAB}')", GITLAB),
    ("slack_token", f"WebClient(token=x or '{SLACK}')", SLACK),
    ("stripe_key", f"stripe.api_key_value_is = {STRIPE!r}", STRIPE),
    ("stripe_key", f"# use {STRIPE_TEST} in dev", STRIPE_TEST),
    ("google_api_key", f"maps(key='{GOOGLE}')", GOOGLE),
    ("jwt", f"headers = {{'X-Session': '{JWT}'}}", JWT),
    ("private_key", f"KEY = '''{PEM}'''", PEM),
    ("private_key", "k = " + repr(PEM), repr(PEM)[1:-1]),  # \n escapes inside a Python string
    ("url_password", 'DATABASE_URL = "postgres://admin:Sup3r-S3cret@db:5432/app"', "Sup3r-S3cret"),
    ("url_password", "REDIS = 'redis://:hunter2hunter@cache:6379/0'", "hunter2hunter"),
    ("bearer_token", f'requests.get(u, headers={{"Authorization": "Bearer {R36}"}})', R36),
    ("password", 'password = "correct horse battery"', "correct horse battery"),
    ("password", 'conn = psycopg2.connect(host=h, password="pa$$w0rd!")', "pa$$w0rd!"),
    ("password", "self.db_password = 'tr0ub4dor&3'", "tr0ub4dor&3"),
    ("password", 'if password == "letmein1":', "letmein1"),
    ("api_key", 'API_KEY: str = "abc123def456ghi"', "abc123def456ghi"),
    ("api_key", 'config = {"apiKey": "k-8812-xyz"}', "k-8812-xyz"),
    ("secret", 'SECRET_KEY = "django-insecure-8f7d6s5a4"', "django-insecure-8f7d6s5a4"),
    ("client_secret", 'oauth(client_secret="cs-abc-123-xyz")', "cs-abc-123-xyz"),
    ("token", "const authToken = `tok_1234abcd`;", "tok_1234abcd"),
    ("token", 'refreshToken := "rt-998877-zz"', "rt-998877-zz"),
    ("secret", 'value = os.getenv("APP_SECRET", "fallback-value-123")', "fallback-value-123"),
    ("high_entropy", 'SIGNING_SALT = "Zx8fK2pQ9mL4vR7tY1wB6nC3"', "Zx8fK2pQ9mL4vR7tY1wB6nC3"),
]


@pytest.mark.parametrize(("kind", "text", "secret"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_each_secret_format_is_replaced_and_restored(kind, text, secret):
    result = redact(text)
    assert secret not in result.text
    placeholders = PLACEHOLDER_RE.findall(result.text)
    assert placeholders, result.text
    assert kind in {k for _, k in placeholders}
    assert unredact(result.text, result.mapping) == text
    assert contains_placeholder(result.text)


CONFIG_CASES = [
    ("settings.yaml", "db:\n  host: localhost\n  password: hunter2x\n", "hunter2x", "localhost"),
    ("app.ini", "[db]\nuser = admin\npasswd = s3cretpw\n", "s3cretpw", "admin"),
    (".env", "DEBUG=1\nexport STRIPE_SECRET=abcdEFGH1234\n", "abcdEFGH1234", "DEBUG=1"),
    (".env.local", "API_TOKEN=tok-12345\n", "tok-12345", "API_TOKEN="),
    ("config.json", '{"user": "bob", "password": "b0bs-pass"}', "b0bs-pass", '"user": "bob"'),
]


@pytest.mark.parametrize(("path", "text", "secret", "kept"), CONFIG_CASES)
def test_config_file_forms(path, text, secret, kept):
    result = redact(text, path)
    assert secret not in result.text and kept in result.text
    assert unredact(result.text, result.mapping) == text


BENIGN = [
    'password = os.environ["DB_PASSWORD"]',
    'password = ""',
    "token = None",
    "api_key: str | None = None",
    "password = settings.DB_PASSWORD",
    'password = request.form["password"]',
    'token_type = "bearer"',
    'author = "Jane Doe"',
    'password_field = "password"',
    "max_tokens = 4096",
    'tokenizer = "cl100k_base"',
    'sort_key = "created_at"',
    'cache_key = "user_profile_settings"',
    'secret_name = "prod/db/credentials"',
    'url = "https://user:${DB_PASSWORD}@db.example.com/app"',
    'dsn = "mysql://root:<password>@localhost/db"',
    'dsn = "postgres://%s:%s@%s/db" % (user, pw, host)',
    'password = "{{ vault_db_password }}"',
    'password = f"{prefix}{suffix}"',
    'token = "***"',
    'headers = {"Authorization": f"Bearer {token}"}',
    "def check_password(password, hashed):",
    "git@github.com:org/repo.git",
    "https://example.com/path?q=1",
    'ACCOUNT_ID = "123456789012"',
    "x = 'sk_live_'  # a prefix only",
]


@pytest.mark.parametrize("text", BENIGN)
def test_benign_look_alikes_are_left_alone(text):
    result = redact(text)
    assert result.text == text and result.count == 0 and not contains_placeholder(result.text)


def test_yaml_references_and_empty_values_are_left_alone():
    text = "db:\n  password: ${DB_PASSWORD}\n  token: null\n  api_key:\n  secret: !vault |\n"
    assert redact(text, "deploy.yml").text == text


def test_placeholders_are_stable_across_texts_and_distinct_per_secret():
    redactor = Redactor()
    first = redactor.redact(f'TOKEN = "{GITHUB}"\nAGAIN = "{GITHUB}"\n')
    second = redactor.redact(f"use({GITHUB!r}, {AWS_ID!r})")
    github_ph = PLACEHOLDER_RE.search(first.text).group(0)
    assert first.text.count(github_ph) == 2 and github_ph in second.text
    assert len(redactor.mapping) == 2 and redactor.mapping[github_ph] == GITHUB
    assert len(set(redactor.mapping)) == len(set(redactor.mapping.values()))


def test_a_secret_found_once_is_hidden_where_it_appears_without_context():
    redactor = Redactor()
    redactor.redact('password = "Tr1cky-Pa55"', "settings.py")
    later = redactor.redact('login("admin", "Tr1cky-Pa55")', "client.py")
    assert "Tr1cky-Pa55" not in later.text and later.count == 1


def test_redacting_twice_changes_nothing_more():
    redactor = Redactor()
    once = redactor.redact("\n".join(text for _, text, _ in CASES)).text
    assert redactor.redact(once).text == once


def test_unredact_leaves_unknown_placeholders_and_contains_placeholder_catches_mangled_ones():
    mapping = {"«SECRET_1:password»": "hunter2"}
    assert unredact("a «SECRET_1:password» b «SECRET_9:token»", mapping) == "a hunter2 b «SECRET_9:token»"
    assert contains_placeholder("x = '<<SECRET_2:token>>'")
    assert not contains_placeholder("SECRET_KEY = os.environ['SECRET_KEY']")


def test_secret_names_work_on_words_not_substrings():
    assert name_words("dbPassword") == ["db", "password"] and name_words("AWS_SECRET_KEY") == [
        "aws",
        "secret",
        "key",
    ]
    for name in (
        "password",
        "dbPassword",
        "SMTP_PASS",
        "clientSecret",
        "x-api-key",
        "authToken",
        "PRIVATE_KEY",
    ):
        assert is_secret_name(name), name
    for name in (
        "author",
        "token_type",
        "password_field",
        "max_tokens",
        "tokenizer",
        "bypass",
        "passthrough",
        "keys",
    ):
        assert not is_secret_name(name), name
    assert is_weak_secret_name("signing_salt") and not is_weak_secret_name("monkey")


def test_entropy_gate():
    assert shannon_entropy("aaaa") == 0.0 and shannon_entropy("abcd") == 2.0
    assert looks_high_entropy("Zx8fK2pQ9mL4vR7tY1wB6nC3")
    assert not looks_high_entropy("user_profile_settings") and not looks_high_entropy("short1A")
