# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import os
from pathlib import Path

UPLOADS = "/srv/uploads"


def read_upload(filename):
    # ruleid: python-open-joined-parameter-path
    with open(os.path.join(UPLOADS, filename)) as handle:
        return handle.read()


def read_report(base: Path, name: str) -> bytes:
    # ruleid: python-open-joined-parameter-path
    return (base / name).read_bytes()


def save_avatar(user_dir, filename, data):
    target = os.path.join(user_dir, "avatars", filename)
    # ruleid: python-open-joined-parameter-path
    with open(target, "wb") as handle:
        handle.write(data)


def read_upload_basename(filename):
    name = os.path.basename(filename)
    # ok: python-open-joined-parameter-path
    with open(os.path.join(UPLOADS, filename if name == filename else name)) as handle:
        return handle.read()


def read_report_checked(base: Path, name: str) -> bytes:
    path = (base / name).resolve()
    if not path.is_relative_to(base.resolve()):
        raise ValueError("outside the report folder")
    # ok: python-open-joined-parameter-path
    return (base / name).read_bytes()


def read_fixed(base):
    # ok: python-open-joined-parameter-path
    return open(os.path.join(base, "settings.ini")).read()


def read_listing(folder):
    for entry in os.listdir(folder):
        # ok: python-open-joined-parameter-path
        with open(os.path.join(folder, entry)) as handle:
            yield handle.read()
