"""insecure_random: secret-looking random values come from `secrets`; unclear intent is declined."""

from __future__ import annotations

import pytest

from agent.engines.builtin.fixers.insecure_random import InsecureRandomFixer
from agent.engines.builtin.fixers.intent import identifier_words, secret_words
from tests.engines.builtin.helpers import load_function, make_finding

FIXER = InsecureRandomFixer()


def fixed_line(line: str, *, header: str = "import random\n") -> str | None:
    source = header + line + "\n"
    result = FIXER.fix(source, make_finding(header.count("\n") + 1, "B311", (330,)))
    if result.new_source is None:
        return None
    assert result.new_source.count("import secrets\n") == 1
    return result.new_source.splitlines()[-1]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("otp = random.randint(100000, 999999)", "otp = secrets.randbelow(900000) + 100000"),
        ("reset_code = random.randint(0, limit)", "reset_code = secrets.randbelow(limit + 1)"),
        ("self.pin = random.randint(low, high)", "self.pin = secrets.randbelow(high - low + 1) + low"),
        ("pin = 10 * random.randint(low, 9)", "pin = 10 * (secrets.randbelow(9 - low + 1) + low)"),
        ("nonce = random.randrange(n)", "nonce = secrets.randbelow(n)"),
        ("salt = random.randrange(16, 64)", "salt = secrets.randbelow(48) + 16"),
        ("apiKey = random.getrandbits(128)", "apiKey = secrets.randbits(128)"),
        ("sessionId = random.random()", "sessionId = secrets.SystemRandom().random()"),
        ("csrf = random.choices(ALPHABET, k=32)", "csrf = secrets.SystemRandom().choices(ALPHABET, k=32)"),
        ("user['password'] = random.sample(chars, 12)", "user['password'] = secrets.SystemRandom().sample(chars, 12)"),
        ("send(token=random.choice(words))", "send(token=secrets.choice(words))"),
        ("x = random.randint(f(), 9)  # session id", None),  # comment is not a name: intent unclear
    ],
)
def test_rewrites_secret_values(line: str, expected: str | None) -> None:
    assert fixed_line(line) == expected


def test_function_name_and_from_import_style() -> None:
    source = (
        "from random import choice\n\n\n"
        "def generate_password(length):\n"
        "    return ''.join(choice(ALPHABET) for _ in range(length))\n"
    )
    result = FIXER.fix(source, make_finding(5, "B311"))
    assert result.new_source == source.replace("from random import choice\n",
                                               "from random import choice\nimport secrets\n").replace(
        "choice(ALPHABET)", "secrets.choice(ALPHABET)")
    assert "function `generate_password` suggests password" in result.reason


def test_computed_lower_bound_is_not_evaluated_twice() -> None:
    assert fixed_line("token = random.randint(start(), 99)") == (
        "token = secrets.SystemRandom().randint(start(), 99)")


@pytest.mark.parametrize(
    "source",
    [
        "import random\n\n\ndef shuffle_playlist(songs):\n    random.shuffle(songs)\n",
        "import random\n\n\ndef backoff(attempt):\n    delay = random.uniform(0, 2 ** attempt)\n",
        "import random\nsort_key = random.random()\n",
        "import random\ncache_key = random.choice(names)\n",
    ],
)
def test_declines_when_intent_is_unclear(source: str) -> None:
    result = FIXER.fix(source, make_finding(source.count("\n"), "B311"))
    assert result.new_source is None
    assert "cannot tell that random." in result.reason
    assert "random is fine for non-security uses" in result.reason


def test_other_random_objects_are_not_targets() -> None:
    result = FIXER.fix("import random\ntoken = random.Random(1).random()\n", make_finding(2, "B311"))
    assert result.new_source is None
    assert result.reason == "no call to a random-module function on line 2"


@pytest.mark.parametrize(
    ("identifier", "words"),
    [
        ("generateAPIToken", ("generate", "api", "token")),
        ("csrf_token2", ("csrf", "token")),
        ("HTTPSessionID", ("http", "session", "id")),
        ("reset-link", ("reset", "link")),
    ],
)
def test_identifier_words(identifier: str, words: tuple[str, ...]) -> None:
    assert identifier_words(identifier) == words


@pytest.mark.parametrize(
    ("identifier", "secret"),
    [("session_id", True), ("verification_code", True), ("cache_key", False), ("monkey", False),
     ("primaryKey", False), ("private_key", True), ("sample_index", False), ("invite_url", True)],
)
def test_secret_vocabulary(identifier: str, secret: bool) -> None:
    assert bool(secret_words(identifier_words(identifier))) is secret


def test_rewritten_values_stay_in_range() -> None:
    source = "import random\n\n\ndef make_otp(low, high):\n    return random.randint(low, high)\n"
    fixed = FIXER.fix(source, make_finding(5, "B311")).new_source
    make_otp = load_function(fixed, "make_otp")
    values = {make_otp(3, 5) for _ in range(300)}
    assert values == {3, 4, 5}
