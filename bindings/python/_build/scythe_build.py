"""A PEP 517 build backend for the scythe package, standard library only (no setuptools, no index).

pip runs it with build isolation and nothing installed (build-system.requires = []). It builds:
  - a wheel: the scythe package plus libscythe.so and scythe-guard in scythe/_lib/, tagged py3-none-linux_<machine>
    (the machine read from the library's ELF header);
  - an sdist: the sources, with the native files when they were found, so a wheel builds from it anywhere;
  - an editable wheel: a .pth that puts this directory on sys.path (the library is then found in the source tree).

The native files come from, first found: $SCYTHE_LIBRARY_DIR (a directory holding libscythe.so and scythe-guard),
scythe/_lib/ here (an unpacked sdist), the source tree's native/target/classes/META-INF/native/linux-<machine>/.
"""

import base64
import hashlib
import io
import os
import platform
import re
import stat
import sys
import tarfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # bindings/python
PACKAGE = "scythe"
NATIVE_FILES = ("libscythe.so", "scythe-guard")
NEEDED_ABI = (0, 6)
ELF_MACHINES = {62: "x86_64", 183: "aarch64"}


class BuildError(Exception):
    """A build that cannot be made: pip shows the message (no traceback)."""


def _hook(fn):
    import functools

    @functools.wraps(fn)
    def hook(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BuildError as e:
            raise SystemExit("\n%s\n" % e)
    return hook


# ---- metadata ---------------------------------------------------------------------------------------------------

def _project():
    """name, version, description, requires-python and classifiers from pyproject.toml's [project]."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    try:
        import tomllib
        return tomllib.loads(text)["project"]
    except ImportError:  # Python < 3.11: the few keys used here, read by hand
        section = text.split("[project]", 1)[1].split("\n[", 1)[0]
        project = {}
        for key in ("name", "version", "description", "readme", "requires-python"):
            m = re.search(r'^%s\s*=\s*"([^"]*)"' % re.escape(key), section, re.M)
            if m:
                project[key] = m.group(1)
        m = re.search(r"^classifiers\s*=\s*\[(.*?)\]", section, re.M | re.S)
        project["classifiers"] = re.findall(r'"([^"]*)"', m.group(1)) if m else []
        return project


def _names():
    p = _project()
    name = re.sub(r"[-_.]+", "_", p["name"]).lower()
    return p, name, p["version"]


def _metadata():
    p, _, version = _names()
    lines = ["Metadata-Version: 2.1", "Name: %s" % p["name"], "Version: %s" % version]
    if p.get("description"):
        lines.append("Summary: %s" % p["description"])
    if p.get("requires-python"):
        lines.append("Requires-Python: %s" % p["requires-python"])
    for c in p.get("classifiers", []):
        lines.append("Classifier: %s" % c)
    readme = p.get("readme")
    body = ""
    if isinstance(readme, str) and os.path.isfile(os.path.join(ROOT, readme)):
        lines.append("Description-Content-Type: text/markdown")
        with open(os.path.join(ROOT, readme), encoding="utf-8") as f:
            body = f.read()
    return ("\n".join(lines) + "\n\n" + body).encode("utf-8")


def _wheel_file(tag):
    return ("Wheel-Version: 1.0\nGenerator: scythe_build\nRoot-Is-Purelib: %s\nTag: %s\n"
            % ("true" if tag.endswith("-any") else "false", tag)).encode()


# ---- the native files -------------------------------------------------------------------------------------------

def _machine():
    m = platform.machine()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m.lower(), m)


def _native_dir(required=True):
    env = os.environ.get("SCYTHE_LIBRARY_DIR")
    if env:
        if not os.path.isfile(os.path.join(env, "libscythe.so")):
            raise BuildError("scythe_build: $SCYTHE_LIBRARY_DIR is %s, which holds no libscythe.so" % env)
        return env
    candidates = [os.path.join(ROOT, PACKAGE, "_lib"),
                  os.path.normpath(os.path.join(ROOT, "..", "..", "native", "target", "classes", "META-INF", "native",
                                                "linux-" + _machine()))]
    for d in candidates:
        if os.path.isfile(os.path.join(d, "libscythe.so")):
            return d
    if not required:
        return None
    raise BuildError(
        "scythe_build: no libscythe.so to bundle (looked in $SCYTHE_LIBRARY_DIR, %s). Build it first, from the "
        "repository root: `scripts/mvn -pl native package` or `scripts/build-native.sh library`; or set "
        "SCYTHE_LIBRARY_DIR to a directory holding libscythe.so and scythe-guard" % ", ".join(candidates))


def _elf_machine(path):
    with open(path, "rb") as f:
        head = f.read(20)
    if head[:4] != b"\x7fELF":
        raise BuildError("scythe_build: %s is not an ELF file" % path)
    order = "little" if head[5] == 1 else "big"
    code = int.from_bytes(head[18:20], order)
    if code not in ELF_MACHINES:
        raise BuildError("scythe_build: %s is for ELF machine %d, which this package does not know" % (path, code))
    return ELF_MACHINES[code]


def _check_abi(lib, machine):
    """Refuses a stale build (an ABI older than the binding needs) where the library can be loaded here."""
    if machine != _machine():
        return
    import ctypes
    try:
        dll = ctypes.CDLL(os.path.abspath(lib), mode=ctypes.RTLD_LOCAL)
    except OSError as e:
        raise BuildError("scythe_build: cannot load %s: %s" % (lib, e))
    if not hasattr(dll, "scythe_abi_version"):
        found = "older than 0.6"
    else:
        dll.scythe_abi_version.restype = ctypes.c_uint32
        v = dll.scythe_abi_version()
        if (v >> 16, v & 0xffff) >= NEEDED_ABI and v >> 16 == NEEDED_ABI[0]:
            return
        found = "%d.%d" % (v >> 16, v & 0xffff)
    raise BuildError("scythe_build: %s has ABI %s; the binding needs %d.%d. Rebuild it: `scripts/mvn -pl native "
                       "package` or `scripts/build-native.sh library`" % (lib, found, NEEDED_ABI[0], NEEDED_ABI[1]))


def _native_files():
    """[(archive path, file path)] of the native files to bundle, and the platform tag."""
    d = _native_dir()
    lib = os.path.join(d, "libscythe.so")
    machine = _elf_machine(lib)
    _check_abi(lib, machine)
    files = [(PACKAGE + "/_lib/libscythe.so", lib)]
    guard = os.path.join(d, "scythe-guard")
    if os.path.isfile(guard):
        if _elf_machine(guard) != machine:
            raise BuildError("scythe_build: %s and %s are for different machines" % (lib, guard))
        files.append((PACKAGE + "/_lib/scythe-guard", guard))
    else:
        sys.stderr.write("scythe_build: warning: no scythe-guard beside %s: jobs will not be killed if the Python "
                         "process dies\n" % lib)
    return files, "linux_" + machine


def _python_files():
    out = []
    pkg = os.path.join(ROOT, PACKAGE)
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d not in ("__pycache__", "_lib"))
        for f in sorted(filenames):
            if f.endswith(".py") or f == "py.typed":
                full = os.path.join(dirpath, f)
                out.append((os.path.relpath(full, ROOT).replace(os.sep, "/"), full))
    return out


# ---- archives ---------------------------------------------------------------------------------------------------

def _date_time():
    epoch = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))  # 1980-01-01: zip's earliest
    return time.gmtime(max(epoch, 315532800))[:6]


def _record_hash(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


class _Wheel:
    def __init__(self, path):
        self.zip = zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED)
        self.records = []
        self.when = _date_time()

    def add(self, arcname, data, executable=False):
        info = zipfile.ZipInfo(arcname, self.when)
        info.external_attr = ((0o755 if executable else 0o644) | stat.S_IFREG) << 16
        info.compress_type = zipfile.ZIP_DEFLATED
        self.zip.writestr(info, data)
        self.records.append("%s,%s,%d" % (arcname, _record_hash(data), len(data)))

    def add_file(self, arcname, path):
        with open(path, "rb") as f:
            data = f.read()
        self.add(arcname, data, executable=bool(os.stat(path).st_mode & 0o111) or arcname.endswith(NATIVE_FILES))

    def close(self, dist_info):
        record = dist_info + "/RECORD"
        data = ("\n".join(self.records + [record + ",,"]) + "\n").encode()
        info = zipfile.ZipInfo(record, self.when)
        info.external_attr = (0o644 | stat.S_IFREG) << 16
        self.zip.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
        self.zip.close()


def _dist_info(name, version):
    return "%s-%s.dist-info" % (name, version)


def _write_dist_info(whl, dist_info, tag):
    whl.add(dist_info + "/METADATA", _metadata())
    whl.add(dist_info + "/WHEEL", _wheel_file(tag))
    whl.add(dist_info + "/top_level.txt", (PACKAGE + "\n").encode())


# ---- PEP 517 hooks ----------------------------------------------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def _prepare(metadata_directory, tag):
    _, name, version = _names()
    d = os.path.join(metadata_directory, _dist_info(name, version))
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "wb") as f:
        f.write(_metadata())
    with open(os.path.join(d, "WHEEL"), "wb") as f:
        f.write(_wheel_file(tag))
    with open(os.path.join(d, "top_level.txt"), "w") as f:
        f.write(PACKAGE + "\n")
    return os.path.basename(d)


@_hook
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _, platform_tag = _native_files()  # fails early, with the message, when there is nothing to bundle
    return _prepare(metadata_directory, "py3-none-" + platform_tag)


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    return _prepare(metadata_directory, "py3-none-any")


@_hook
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _, name, version = _names()
    native, platform_tag = _native_files()
    tag = "py3-none-" + platform_tag
    filename = "%s-%s-%s.whl" % (name, version, tag)
    whl = _Wheel(os.path.join(wheel_directory, filename))
    try:
        for arcname, path in _python_files() + native:
            whl.add_file(arcname, path)
        dist_info = _dist_info(name, version)
        _write_dist_info(whl, dist_info, tag)
        whl.close(dist_info)
    except BaseException:
        whl.zip.close()
        os.unlink(os.path.join(wheel_directory, filename))
        raise
    return filename


@_hook
def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _, name, version = _names()
    tag = "py3-none-any"
    filename = "%s-%s-%s.whl" % (name, version, tag)
    whl = _Wheel(os.path.join(wheel_directory, filename))
    whl.add("__editable__.%s.pth" % name, (ROOT + "\n").encode())
    dist_info = _dist_info(name, version)
    _write_dist_info(whl, dist_info, tag)
    whl.close(dist_info)
    return filename


@_hook
def build_sdist(sdist_directory, config_settings=None):
    p, name, version = _names()
    base = "%s-%s" % (name, version)
    filename = base + ".tar.gz"
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH", "315532800"))
    members = [("pyproject.toml", os.path.join(ROOT, "pyproject.toml")),
               ("_build/scythe_build.py", os.path.abspath(__file__))]
    if isinstance(p.get("readme"), str) and os.path.isfile(os.path.join(ROOT, p["readme"])):
        members.append((p["readme"], os.path.join(ROOT, p["readme"])))
    members += _python_files()
    tests = os.path.join(ROOT, "tests")
    if os.path.isdir(tests):
        members += [("tests/" + f, os.path.join(tests, f)) for f in sorted(os.listdir(tests)) if f.endswith(".py")]
    d = _native_dir(required=False)
    if d is not None:
        for f in NATIVE_FILES:
            if os.path.isfile(os.path.join(d, f)):
                members.append((PACKAGE + "/_lib/" + f, os.path.join(d, f)))

    def add(tar, arcname, data, mode):
        info = tarfile.TarInfo(base + "/" + arcname)
        info.size = len(data)
        info.mtime = mtime
        info.mode = mode
        info.uname = info.gname = ""
        tar.addfile(info, io.BytesIO(data))

    with tarfile.open(os.path.join(sdist_directory, filename), "w:gz", format=tarfile.PAX_FORMAT) as tar:
        add(tar, "PKG-INFO", _metadata(), 0o644)
        for arcname, path in members:
            with open(path, "rb") as f:
                data = f.read()
            add(tar, arcname, data, 0o755 if arcname.endswith(NATIVE_FILES) else 0o644)
    return filename
