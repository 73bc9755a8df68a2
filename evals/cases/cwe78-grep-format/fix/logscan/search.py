"""Search application logs."""
import subprocess as sp


def count_matches(pattern, path):
    """How many lines of `path` contain `pattern` (a fixed string)."""
    proc = sp.run(["grep", "-c", "-F", "--", pattern, path], capture_output=True, text=True)
    return int(proc.stdout.strip() or 0)
