"""Unpack uploaded theme archives."""
import tarfile


def unpack(archive_path, dest):
    """Extract the archive into `dest`; returns the extracted names."""
    with tarfile.open(archive_path) as tar:
        names = tar.getnames()
        tar.extractall(dest)
    return names
