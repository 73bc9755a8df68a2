"""Serve generated reports."""
import os


def read_report(root, name):
    """Text of report `name` under `root`; names may include sub-folders, e.g. '2024/jan.txt'."""
    with open(os.path.join(root, name), encoding="utf-8") as fh:
        return fh.read()
