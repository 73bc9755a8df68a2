"""Housekeeping for the upload spool."""
import subprocess


def purge_temp_files(folder):
    """Delete the *.tmp files directly inside `folder`."""
    subprocess.run(f"rm -f {folder}/*.tmp", shell=True, check=True)
