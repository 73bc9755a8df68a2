# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import marshal
import pickle

import yaml


def load_session(blob):
    # ruleid: python-pickle-deserialization
    return pickle.loads(blob)


def load_model(path):
    with open(path, "rb") as handle:
        # ruleid: python-pickle-deserialization
        return pickle.load(handle)


def load_code(blob):
    # ruleid: python-marshal-deserialization
    return marshal.loads(blob)


def load_config(text):
    # ruleid: python-yaml-unsafe-load
    return yaml.load(text, Loader=yaml.Loader)


def load_config_full(text):
    # ruleid: python-yaml-unsafe-load
    return yaml.load(text, Loader=yaml.FullLoader)


def load_config_unsafe(text):
    # ruleid: python-yaml-unsafe-load
    return yaml.unsafe_load(text)


def load_all(text):
    # ruleid: python-yaml-unsafe-load
    return list(yaml.load_all(text, yaml.UnsafeLoader))


def load_config_safe(text):
    # ok: python-yaml-unsafe-load
    a = yaml.safe_load(text)
    # ok: python-yaml-unsafe-load
    b = yaml.load(text, Loader=yaml.SafeLoader)
    # ok: python-yaml-unsafe-load
    c = yaml.load(text, yaml.CSafeLoader)
    return a, b, c


def save(obj):
    # ok: python-pickle-deserialization
    return pickle.dumps(obj)


def save_code(code):
    # ok: python-marshal-deserialization
    return marshal.dumps(code)
