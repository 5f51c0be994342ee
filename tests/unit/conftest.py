"""Make ``ansible_collections.fedisec.hardening`` importable from any checkout.

This runs at conftest import time, i.e. before pytest imports the test modules
(and through them the plugins). If the repository already sits at
``.../ansible_collections/fedisec/hardening`` that tree is used; otherwise a
temporary ``ansible_collections/fedisec/hardening`` symlink to the repository
root is created for the session.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _link_collection(root: Path) -> Path:
    """Create ``root/ansible_collections/fedisec/hardening`` -> REPO_ROOT; return root."""
    namespace = root / "ansible_collections" / "fedisec"
    namespace.mkdir(parents=True)
    (namespace / "hardening").symlink_to(REPO_ROOT, target_is_directory=True)
    return root


if REPO_ROOT.name == "hardening" and [p.name for p in REPO_ROOT.parents[:2]] == [
    "fedisec",
    "ansible_collections",
]:
    COLLECTIONS_ROOT = REPO_ROOT.parents[2]
else:
    # Removed at interpreter exit; rmtree unlinks the symlink, not its target.
    _TMPDIR = tempfile.TemporaryDirectory(prefix="fedisec-collections-")
    COLLECTIONS_ROOT = _link_collection(Path(_TMPDIR.name))

sys.path.insert(0, str(COLLECTIONS_ROOT))
