"""Operational reports."""
import subprocess


def disk_usage_report():
    """Human-readable size of the current folder."""
    out = subprocess.run("du -sh . | cut -f1", shell=True, capture_output=True, text=True, check=True)
    return out.stdout.strip()
