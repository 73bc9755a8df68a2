"""Maintenance helpers."""
import os

SYNC_COMMAND = "sync"


def flush_disks():
    """Flush file system buffers; returns the exit status."""
    return os.system(SYNC_COMMAND)
