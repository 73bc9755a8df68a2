"""A posted form value may be an uploaded file, not a string: the CSRF/token checks and the post-sign-in redirect
treat it as no value (a refusal or the default page), never as a crash (found by mypy: form.get() is
`UploadFile | str | None`)."""

from __future__ import annotations

import io

from starlette.datastructures import UploadFile

from agent.web.respond import safe_next
from agent.web.security import token_matches


def _upload(data: bytes) -> UploadFile:
    return UploadFile(io.BytesIO(data), filename="token.txt")


def test_an_uploaded_file_never_matches_the_token_even_with_the_token_as_its_content():
    assert not token_matches(_upload(b"correct-horse-battery-staple"), "correct-horse-battery-staple")
    assert token_matches("correct-horse-battery-staple", "correct-horse-battery-staple")
    assert not token_matches(None, "correct-horse-battery-staple")


def test_an_uploaded_file_as_next_goes_to_the_queue():
    assert safe_next(_upload(b"/r/x")) == "/queue"
    assert safe_next("/r/x") == "/r/x"
    assert safe_next("//evil.example") == "/queue"
