"""Housekeeping for the upload spool."""
from pathlib import Path


def purge_temp_files(folder):
    """Delete the *.tmp files directly inside `folder`."""
    for path in Path(folder).glob("*.tmp"):
        path.unlink()
