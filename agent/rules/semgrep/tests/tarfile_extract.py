# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import tarfile
import zipfile


def unpack(archive, dest):
    with tarfile.open(archive) as bundle:
        # ruleid: python-tarfile-extract-without-filter
        bundle.extractall(dest)


def unpack_one(archive, dest, member):
    tar = tarfile.open(archive, "r:gz")
    # ruleid: python-tarfile-extract-without-filter
    tar.extract(member, dest)
    tar.close()


def unpack_inline(archive):
    # ruleid: python-tarfile-extract-without-filter
    tarfile.open(archive).extractall()


def unpack_given(tar: tarfile.TarFile, dest):
    # ruleid: python-tarfile-extract-without-filter
    tar.extractall(path=dest)


def unpack_safely(archive, dest):
    with tarfile.open(archive) as bundle:
        # ok: python-tarfile-extract-without-filter
        bundle.extractall(dest, filter="data")


def unpack_zip(archive, dest):
    with zipfile.ZipFile(archive) as bundle:
        # ok: python-tarfile-extract-without-filter
        bundle.extractall(dest)
