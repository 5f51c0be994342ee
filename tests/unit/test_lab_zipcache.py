"""The lab hosts' bytecode cache for Ansible's zips (lab/image/fedisec_lab_zipcache.py):
the same results as zipimport, code compiled once per source text, file names of the zip it
is imported from, and a cache that is only used when only root can write it."""
import importlib.util
import marshal
import os
import sys
import time
import traceback
import zipfile
import zipimport
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "lab" / "image"))
import fedisec_lab_zipcache as zipcache  # noqa: E402

PACKAGE = "fedisec_zc_pkg"
MODULE = f"""
VALUE = {{value}}

def fail():
    raise RuntimeError("from the zip")
"""


def make_zip(path: Path, value: int = 1) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(f"{PACKAGE}/__init__.py", "NAME = 'package'\n")
        archive.writestr(f"{PACKAGE}/mod.py", MODULE.format(value=value))
    return path


def load(zip_path: Path, fullname: str, cache_dir: Path):
    """Import `fullname` from `zip_path` through the caching importer, as the import system does."""
    parent, _, name = fullname.rpartition(".")
    importer = zipcache.CachingZipImporter(str(zip_path / parent) if parent else str(zip_path))
    importer.cache_dir = str(cache_dir)
    spec = importer.find_spec(fullname)
    if spec is None:
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def as_root(monkeypatch, tmp_path):
    """The cache checks for root: the test's files belong to the user running the tests."""
    uid = os.stat(tmp_path).st_uid
    monkeypatch.setattr(zipcache.os, "geteuid", lambda: 0)
    real_lstat = os.lstat

    def lstat(path):
        info = real_lstat(path)
        if info.st_uid != uid:
            return info
        return os.stat_result((info.st_mode, info.st_ino, info.st_dev, info.st_nlink, 0, 0,
                               *info[6:10]))
    monkeypatch.setattr(zipcache.os, "lstat", lstat)


def test_a_module_and_a_package_load_as_zipimport_loads_them(tmp_path, as_root):
    archive = make_zip(tmp_path / "a.zip", value=7)
    package = load(archive, PACKAGE, tmp_path / "pyc")
    module = load(archive, f"{PACKAGE}.mod", tmp_path / "pyc")
    assert package.NAME == "package"
    assert package.__path__ == [str(archive / PACKAGE)]
    assert package.__file__ == str(archive / PACKAGE / "__init__.py")
    assert module.VALUE == 7
    assert module.__file__ == str(archive / PACKAGE / "mod.py")
    reference = zipimport.zipimporter(str(archive / PACKAGE))
    assert reference.get_filename(f"{PACKAGE}.mod") == module.__file__


def test_the_code_is_compiled_once_per_source_and_named_after_the_zip_it_came_from(tmp_path, as_root, monkeypatch):
    pyc = tmp_path / "pyc"
    load(make_zip(tmp_path / "first.zip"), f"{PACKAGE}.mod", pyc)
    assert len(list(pyc.iterdir())) == 1
    assert oct(pyc.stat().st_mode & 0o777) == "0o700"

    def no_compile(*_args, **_kwargs):
        raise AssertionError("compiled again")
    monkeypatch.setattr(zipcache, "compile", no_compile, raising=False)
    second = tmp_path / "second.zip"
    module = load(make_zip(second), f"{PACKAGE}.mod", pyc)
    with pytest.raises(RuntimeError) as raised:
        module.fail()
    frames = traceback.extract_tb(raised.value.__traceback__)
    assert frames[-1].filename == str(second / PACKAGE / "mod.py")
    assert module.fail.__code__.co_filename == str(second / PACKAGE / "mod.py")


def test_a_changed_source_is_compiled_again(tmp_path, as_root):
    pyc = tmp_path / "pyc"
    assert load(make_zip(tmp_path / "a.zip", value=1), f"{PACKAGE}.mod", pyc).VALUE == 1
    assert load(make_zip(tmp_path / "b.zip", value=2), f"{PACKAGE}.mod", pyc).VALUE == 2
    assert len(list(pyc.iterdir())) == 2


@pytest.mark.parametrize("content", [b"", b"not marshal data", marshal.dumps(["not", "code"])])
def test_a_damaged_cache_entry_is_compiled_again_and_replaced(tmp_path, as_root, content):
    pyc = tmp_path / "pyc"
    load(make_zip(tmp_path / "a.zip", value=3), f"{PACKAGE}.mod", pyc)
    (entry,) = pyc.iterdir()
    entry.write_bytes(content)
    assert load(make_zip(tmp_path / "b.zip", value=3), f"{PACKAGE}.mod", pyc).VALUE == 3
    assert entry.read_bytes() not in (b"", b"not marshal data")
    assert isinstance(marshal.loads(entry.read_bytes()), type(compile("", "", "exec")))


@pytest.mark.parametrize("mode", [0o770, 0o707, 0o755])
def test_a_cache_others_may_write_or_read_is_not_used(tmp_path, as_root, mode):
    pyc = tmp_path / "pyc"
    pyc.mkdir()
    pyc.chmod(mode)
    assert load(make_zip(tmp_path / "a.zip", value=4), f"{PACKAGE}.mod", pyc).VALUE == 4
    assert list(pyc.iterdir()) == []


def test_a_cache_that_is_a_symlink_is_not_used(tmp_path, as_root):
    real = tmp_path / "real"
    real.mkdir(mode=0o700)
    (tmp_path / "pyc").symlink_to(real)
    assert load(make_zip(tmp_path / "a.zip", value=5), f"{PACKAGE}.mod", tmp_path / "pyc").VALUE == 5
    assert list(real.iterdir()) == []


def test_a_cache_owned_by_someone_else_is_not_used(tmp_path, monkeypatch):
    # Root runs the module, but the directory is not root's (no lstat override here).
    monkeypatch.setattr(zipcache.os, "geteuid", lambda: 0)
    pyc = tmp_path / "pyc"
    pyc.mkdir(mode=0o700)
    if os.stat(pyc).st_uid == 0:
        monkeypatch.setattr(zipcache.os, "lstat", lambda p: os.stat_result(
            (os.stat(p).st_mode, 0, 0, 1, 1000, 1000, 0, 0, 0, 0)))
    assert load(make_zip(tmp_path / "a.zip", value=6), f"{PACKAGE}.mod", pyc).VALUE == 6
    assert list(pyc.iterdir()) == []


def test_a_user_other_than_root_compiles_without_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(zipcache.os, "geteuid", lambda: 1000)
    pyc = tmp_path / "pyc"
    assert load(make_zip(tmp_path / "a.zip", value=8), f"{PACKAGE}.mod", pyc).VALUE == 8
    assert not pyc.exists()


def test_a_cache_it_cannot_write_still_imports(tmp_path, as_root, monkeypatch):
    pyc = tmp_path / "pyc"
    pyc.mkdir(mode=0o700)
    real_open = open

    def read_only(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise PermissionError(13, "read-only", path)
        return real_open(path, mode, *args, **kwargs)
    monkeypatch.setattr(zipcache, "open", read_only, raising=False)
    assert load(make_zip(tmp_path / "a.zip", value=9), f"{PACKAGE}.mod", pyc).VALUE == 9
    assert list(pyc.iterdir()) == []


def test_bytecode_only_modules_are_left_to_zipimport(tmp_path, as_root):
    code = compile("VALUE = 10\n", "compiled.py", "exec")
    data = importlib.util.MAGIC_NUMBER + b"\x00" * 4 + int(time.time()).to_bytes(4, "little") \
        + b"\x00" * 4 + marshal.dumps(code)
    archive = tmp_path / "bytecode.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("fedisec_zc_compiled.pyc", data)
    module = load(archive, "fedisec_zc_compiled", tmp_path / "pyc")
    assert module.VALUE == 10
    assert not (tmp_path / "pyc").exists()


def test_a_missing_module_is_not_found(tmp_path, as_root):
    assert load(make_zip(tmp_path / "a.zip"), "fedisec_zc_missing", tmp_path / "pyc") is None


def test_install_replaces_zipimport_among_the_path_hooks(monkeypatch):
    hooks = [zipimport.zipimporter, object()]
    monkeypatch.setattr(sys, "path_hooks", hooks)
    monkeypatch.setattr(sys, "path_importer_cache", {"x": None})
    zipcache.install()
    assert hooks[0] is zipcache.CachingZipImporter
    assert sys.path_importer_cache == {}
    zipcache.install()
    assert hooks.count(zipcache.CachingZipImporter) == 1


def test_an_interpreter_started_with_the_hook_imports_from_a_zip_through_it(tmp_path):
    # What the lab hosts run: the .pth file's line, then an import from a zip on sys.path.
    archive = make_zip(tmp_path / "a.zip", value=11)
    script = (
        "import fedisec_lab_zipcache; fedisec_lab_zipcache.install()\n"
        f"fedisec_lab_zipcache.CachingZipImporter.cache_dir = {str(tmp_path / 'pyc')!r}\n"
        f"import sys; sys.path.insert(0, {str(archive)!r})\n"
        f"import {PACKAGE}.mod as m\n"
        "print(type(m.__loader__).__name__, m.VALUE)\n")
    import subprocess
    env = dict(os.environ, PYTHONPATH=str(Path(zipcache.__file__).parent))
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["CachingZipImporter", "11"]
