# SPDX-License-Identifier: MIT
"""PEP 517 build backend of the profile2metrics Python package.

Standard library only (build-system.requires is empty), so that
`pip install bindings/python` works offline and needs nothing from any
package index. It compiles the library from profile2metrics.h and
bindings/common/p2m_binding.c with the system C compiler into a shared
object placed inside the wheel (profile2metrics/_libp2m.so), which the
package loads with ctypes.

The C sources are taken from the repository around the package
(../../profile2metrics.h); an sdist built by this backend carries copies in
_csrc/, used when the repository is not there. CC and CFLAGS from the
environment are honoured.
"""
import base64
import hashlib
import io
import os
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "profile2metrics"
VERSION = "0.1.0"
HERE = os.path.dirname(os.path.abspath(__file__))
PKG_ROOT = os.path.dirname(HERE)  # bindings/python
REPO = os.path.dirname(os.path.dirname(PKG_ROOT))  # the repository root

SUMMARY = ("OpenTelemetry profiles to OpenTelemetry metrics, in-process "
           "(profile2metrics.h through ctypes)")


def _sources():
    """(header dir, binding .c) from the repository, else from _csrc/ of an sdist."""
    repo_h = os.path.join(REPO, "profile2metrics.h")
    repo_c = os.path.join(REPO, "bindings", "common", "p2m_binding.c")
    if os.path.isfile(repo_h) and os.path.isfile(repo_c):
        return REPO, repo_c
    vend = os.path.join(PKG_ROOT, "_csrc")
    if os.path.isfile(os.path.join(vend, "profile2metrics.h")):
        return vend, os.path.join(vend, "p2m_binding.c")
    raise RuntimeError(
        "profile2metrics: cannot find profile2metrics.h: looked in %s and %s. Install from "
        "the repository (pip install bindings/python) or from an sdist built by this "
        "backend." % (REPO, vend))


def _compile(out_path):
    inc, src = _sources()
    cc = os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc"
    cflags = os.environ.get("CFLAGS", "-O2")
    # Only the p2m_ / p2mb_ API is exported: everything else stays hidden.
    cmd = (shlex.split(cc) + shlex.split(cflags) +
           ["-std=c99", "-shared", "-fPIC", "-fvisibility=hidden",
            "-DP2M_API=extern __attribute__((visibility(\"default\")))",
            "-I" + inc, "-o", out_path, src])
    sys.stderr.write("profile2metrics: " + " ".join(shlex.quote(c) for c in cmd) + "\n")
    try:
        subprocess.run(cmd, check=True)
    except FileNotFoundError:
        raise RuntimeError("profile2metrics: no C compiler (%s); install one (Debian: gcc) or "
                           "set CC" % cc)
    except subprocess.CalledProcessError as e:
        raise RuntimeError("profile2metrics: compiling the library failed (exit %d): %s"
                           % (e.returncode, " ".join(cmd)))


def _platform_tag():
    return sysconfig.get_platform().replace("-", "_").replace(".", "_")


def _tag():
    # The library is loaded through ctypes, not the CPython C API: any Python 3
    # on this platform can use it.
    return "py3-none-" + _platform_tag()


def _metadata():
    readme = os.path.join(PKG_ROOT, "README.md")
    text = ["Metadata-Version: 2.1", "Name: " + NAME, "Version: " + VERSION,
            "Summary: " + SUMMARY, "License: MIT", "Requires-Python: >=3.8"]
    if os.path.isfile(readme):
        with open(readme, encoding="utf-8") as f:
            body = f.read()
        text.append("Description-Content-Type: text/markdown")
        return "\n".join(text) + "\n\n" + body
    return "\n".join(text) + "\n"


def _wheel_file():
    return ("Wheel-Version: 1.0\nGenerator: p2m_build\nRoot-Is-Purelib: false\nTag: %s\n"
            % _tag())


def _dist_info():
    return "%s-%s.dist-info" % (NAME, VERSION)


def _record_line(path, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return "%s,sha256=%s,%d" % (path, digest, len(data))


def _package_files():
    src = os.path.join(PKG_ROOT, NAME)
    for name in sorted(os.listdir(src)):
        if name.endswith((".py", ".typed", ".pyi")):
            yield name, os.path.join(src, name)


# ---- PEP 517 hooks ------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    d = os.path.join(metadata_directory, _dist_info())
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    with open(os.path.join(d, "WHEEL"), "w", encoding="utf-8") as f:
        f.write(_wheel_file())
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    wheel_name = "%s-%s-%s.whl" % (NAME, VERSION, _tag())
    entries = []
    with tempfile.TemporaryDirectory() as tmp:
        lib = os.path.join(tmp, "_libp2m.so")
        _compile(lib)
        for name, path in _package_files():
            with open(path, "rb") as f:
                entries.append((NAME + "/" + name, f.read()))
        with open(lib, "rb") as f:
            entries.append((NAME + "/_libp2m.so", f.read()))
    di = _dist_info()
    entries.append((di + "/METADATA", _metadata().encode("utf-8")))
    entries.append((di + "/WHEEL", _wheel_file().encode("utf-8")))
    entries.append((di + "/top_level.txt", (NAME + "\n").encode()))
    record = [_record_line(p, d) for p, d in entries] + [di + "/RECORD,,"]
    entries.append((di + "/RECORD", ("\n".join(record) + "\n").encode()))
    out = os.path.join(wheel_directory, wheel_name)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in entries:
            info = zipfile.ZipInfo(p, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if p.endswith(".so") else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, d)
    return wheel_name


def build_sdist(sdist_directory, config_settings=None):
    """A source archive that builds without the repository: the package, this
    backend, and copies of the C sources in _csrc/."""
    inc, src = _sources()
    base = "%s-%s" % (NAME, VERSION)
    out = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(out, "w:gz") as t:
        def add_bytes(name, data):
            info = tarfile.TarInfo(base + "/" + name)
            info.size = len(data)
            info.mtime = 0
            t.addfile(info, io.BytesIO(data))
        for rel in ("pyproject.toml", "README.md", "_backend/p2m_build.py"):
            p = os.path.join(PKG_ROOT, rel)
            if os.path.isfile(p):
                with open(p, "rb") as f:
                    add_bytes(rel, f.read())
        for name, path in _package_files():
            with open(path, "rb") as f:
                add_bytes(NAME + "/" + name, f.read())
        with open(os.path.join(inc, "profile2metrics.h"), "rb") as f:
            add_bytes("_csrc/profile2metrics.h", f.read())
        with open(src, "rb") as f:
            add_bytes("_csrc/p2m_binding.c", f.read())
        add_bytes("PKG-INFO", _metadata().encode("utf-8"))
    return os.path.basename(out)
