"""Compress exported reports before they are archived."""
import os


def compress(path):
    """Gzip `path` next to itself, keeping the original. Returns the exit status."""
    return os.system("gzip -k -f " + path)
