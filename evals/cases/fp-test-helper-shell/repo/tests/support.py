"""Helpers for the CLI tests."""
import subprocess
import sys


def run_cli(args):
    proc = subprocess.run(f"{sys.executable} -m greeter {args}", shell=True, capture_output=True, text=True)
    return proc.stdout.strip()
