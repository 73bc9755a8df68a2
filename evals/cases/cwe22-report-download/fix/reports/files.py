"""Serve generated reports."""
from pathlib import Path


def read_report(root, name):
    """Text of report `name` under `root`; names may include sub-folders, e.g. '2024/jan.txt'."""
    base = Path(root).resolve()
    path = (base / name).resolve()
    if not path.is_relative_to(base):
        raise ValueError(f"report name {name!r} leaves the reports folder")
    return path.read_text(encoding="utf-8")
