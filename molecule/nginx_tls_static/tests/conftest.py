"""The lab's test helpers (tests/lab) and the project's header grading (plugins/module_utils)."""
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
sys.path[:0] = [str(REPO / "tests" / "lab"), str(REPO / "plugins" / "module_utils")]

from lab import lab, pytest_configure  # noqa: E402,F401 (the fixture and the marker)
