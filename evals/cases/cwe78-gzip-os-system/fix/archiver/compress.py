"""Compress exported reports before they are archived."""
import subprocess


def compress(path):
    """Gzip `path` next to itself, keeping the original. Returns the exit status."""
    return subprocess.run(["gzip", "-k", "-f", path]).returncode
