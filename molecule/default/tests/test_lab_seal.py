"""The lab is sealed: the same proofs in every scenario (tests/lab/seal.py)."""
from seal import *  # noqa: F403 (the shared tests and their parametrization)
