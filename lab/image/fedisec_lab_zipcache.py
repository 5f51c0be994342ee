"""Lab hosts only: a bytecode cache for the Python that Ansible ships to a host in a zip.

Each task runs its module from a fresh AnsiballZ zip, and Python's zipimport never caches
bytecode: every task compiled `ansible.module_utils.basic` and its imports again, and on
Python 3.11 twice (the spec asks `get_filename`, which compiles, and the load compiles
again). On the lab's 2-core machine that was about 0.15 s of CPU per task.

This importer replaces zipimport's path hook for zips only. A module's code is compiled once
per source text (SHA-256 of the interpreter's magic number and the source) and kept in a
root-only directory; the code object's file names are set to the module's path in the zip
it is imported from, as a `.pyc` next to its source would be. Nothing else changes: the same
source, compiled by the same interpreter. Loaded at start-up by `fedisec_lab_zipcache.pth`.
"""
from __future__ import annotations

import marshal
import os
import stat
import sys
import types
import zipimport

CACHE_DIR = "/var/cache/fedisec-lab-pyc"


def _cache_dir(path: str = CACHE_DIR) -> str | None:
    """The cache directory when this process may trust it: root's, root-only, and we are root."""
    if os.geteuid() != 0:
        return None
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != 0 or info.st_mode & 0o077:
        return None
    return path


class CachingZipImporter(zipimport.zipimporter):
    """zipimport's importer, with compiled code cached by source text."""

    cache_dir = CACHE_DIR

    def _source_path(self, fullname: str) -> tuple[str, str] | None:
        """(source text, its path in the zip) or None when the zip has bytecode only."""
        source = self.get_source(fullname)
        if source is None:
            return None
        name = fullname.rpartition(".")[2]
        inner = self.prefix + name + (os.sep + "__init__.py" if self.is_package(fullname) else ".py")
        return source, os.path.join(self.archive, inner)

    def get_filename(self, fullname: str) -> str:
        found = self._source_path(fullname)
        return found[1] if found else super().get_filename(fullname)

    def get_code(self, fullname: str):
        found = self._source_path(fullname)
        if found is None:
            return super().get_code(fullname)
        source, filename = found
        source = source.replace("\r\n", "\n").replace("\r", "\n")
        directory = _cache_dir(self.cache_dir)
        if directory is None:
            return compile(source, filename, "exec", dont_inherit=True)
        import hashlib
        import importlib.util
        key = hashlib.sha256(importlib.util.MAGIC_NUMBER + source.encode("utf-8", "surrogateescape")).hexdigest()
        cached = os.path.join(directory, key)
        try:
            with open(cached, "rb") as handle:
                code = marshal.load(handle)
        except (OSError, EOFError, ValueError, TypeError):
            code = None
        if isinstance(code, types.CodeType):
            import _imp
            _imp._fix_co_filename(code, filename)
            return code
        code = compile(source, filename, "exec", dont_inherit=True)
        partial = f"{cached}.{os.getpid()}"
        try:
            with open(partial, "wb") as handle:
                marshal.dump(code, handle)
            os.replace(partial, cached)
        except OSError:
            try:
                os.unlink(partial)
            except OSError:
                pass
        return code

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        exec(self.get_code(module.__spec__.name), module.__dict__)  # noqa: S102 (an importer runs modules)


def install() -> None:
    """Put the caching importer in zipimport's place among the path hooks."""
    hooks = sys.path_hooks
    if zipimport.zipimporter in hooks:
        hooks[hooks.index(zipimport.zipimporter)] = CachingZipImporter
        sys.path_importer_cache.clear()
