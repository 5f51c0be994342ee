# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which of a role's packages dpkg does not have installed: the roles ask dpkg once
(``dpkg-query --show --showformat='${Package} ${db:Status-Status}\\n' <names>``, a few
milliseconds) and run the apt module, which opens apt's whole cache, only when something is
missing. Pure Python, unit-tested."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Debian policy 5.6.1: lower case letters, digits, + - . ; at least two, starting alphanumeric.
_PACKAGE = re.compile(r"[a-z0-9][a-z0-9+.-]+")
DPKG_FORMAT = "${Package} ${db:Status-Status}\n"


def _names(wanted: object, variable_name: str) -> list[str]:
    if isinstance(wanted, (str, bytes)) or not isinstance(wanted, Iterable):
        raise ValueError(f"{variable_name}: must be a list of package names, got {wanted!r}")
    names = list(wanted)
    for name in names:
        if not isinstance(name, str) or not _PACKAGE.fullmatch(name):
            raise ValueError(f"{variable_name}: {name!r} is not a Debian package name")
    return names


def dpkg_query_argv(wanted: object, variable_name: str = "packages") -> list[str]:
    """The read-only dpkg-query command whose output :func:`packages_missing` reads."""
    return ["dpkg-query", "--show", f"--showformat={DPKG_FORMAT}", "--", *_names(wanted, variable_name)]


def packages_missing(dpkg_output: object, wanted: object, variable_name: str = "packages") -> list[str]:
    """The names of ``wanted`` that ``dpkg_output`` does not list as installed, in order.

    ``dpkg_output`` is what dpkg-query printed with :data:`DPKG_FORMAT` (a package unknown to
    dpkg is simply absent from it; a multi-arch package may appear once per architecture).
    """
    if not isinstance(dpkg_output, str):
        raise ValueError(f"{variable_name}: expected dpkg-query's output, got {type(dpkg_output).__name__}")
    names = _names(wanted, variable_name)
    installed = set()
    for line in dpkg_output.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "installed":
            installed.add(fields[0].split(":", 1)[0])
    return [name for name in names if name not in installed]
