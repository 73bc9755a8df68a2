# ruff: noqa
# Semgrep test fixture for python-security.yml: deliberately unsafe code, annotated for semgrep test mode.
import os
import subprocess


def archive(path, name):
    # ruleid: python-subprocess-shell-nonliteral
    subprocess.run(f"tar -czf {name}.tar.gz {path}", shell=True, check=True)


def convert(src):
    cmd = "convert " + src + " out.png"
    # ruleid: python-subprocess-shell-nonliteral
    return subprocess.check_output(cmd, shell=True)


def listing(folder):
    # ruleid: python-subprocess-shell-nonliteral
    subprocess.Popen(args="ls -l %s" % folder, shell=True)


def safe_listing(folder):
    # ok: python-subprocess-shell-nonliteral
    subprocess.run(["ls", "-l", folder], check=True)


def constant_command():
    # ok: python-subprocess-shell-nonliteral
    return subprocess.run("git rev-parse --short HEAD", shell=True, capture_output=True)


def shell_false(cmd):
    # ok: python-subprocess-shell-nonliteral
    subprocess.call(cmd, shell=False)


def ping(host):
    # ruleid: python-os-system-nonliteral
    os.system("ping -c 1 " + host)
    # ruleid: python-os-system-nonliteral
    return os.popen(f"dig {host}").read()


def uptime():
    # ok: python-os-system-nonliteral
    os.system("uptime")
    # ruleid: python-os-system-nonliteral
    subprocess.getoutput("whois %s" % uptime.__name__)
