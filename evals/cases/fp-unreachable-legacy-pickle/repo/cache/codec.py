"""Decode cache entries."""
import json
import sys


def load_entry(raw):
    if sys.version_info < (3, 8):  # interpreters this package no longer supports
        import pickle

        return pickle.loads(raw)
    return json.loads(raw)
