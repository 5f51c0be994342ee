"""Shared fixtures for the lab tests: every lab host by name, and the test helpers."""
import os
import sys
from pathlib import Path

import pytest
import testinfra

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "lab"))

from lab import Lab  # noqa: E402


@pytest.fixture(scope="session")
def lab():
    return Lab(os.environ["MOLECULE_INVENTORY_FILE"], testinfra.get_host)
