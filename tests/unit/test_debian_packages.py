# Copyright: (c) 2026, fedisec.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""module_utils/debian_packages.py: what dpkg-query's output says is missing; with the
real dpkg-query of this machine where there is one."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.fedisec.hardening.plugins.filter.fedisec import FilterModule
from ansible_collections.fedisec.hardening.plugins.module_utils.debian_packages import dpkg_query_argv, packages_missing

OUTPUT = """nginx installed
python3-cryptography installed
exim4-daemon-light config-files
tor not-installed
libc6:amd64 installed
libc6:i386 not-installed
gnutls-bin half-configured
"""


def test_only_installed_packages_count():
    wanted = ["nginx", "exim4-daemon-light", "tor", "libc6", "gnutls-bin", "unknown-to-dpkg", "python3-cryptography"]
    assert packages_missing(OUTPUT, wanted) == ["exim4-daemon-light", "tor", "gnutls-bin", "unknown-to-dpkg"]
    assert packages_missing(OUTPUT, ["nginx", "python3-cryptography"]) == []
    assert packages_missing("", ["nginx"]) == ["nginx"]
    assert packages_missing(OUTPUT, []) == []


@pytest.mark.skipif(shutil.which("dpkg-query") is None, reason="no dpkg on this machine")
def test_against_this_machines_dpkg():
    names = ["dpkg", "no-such-package-here"]
    done = subprocess.run(dpkg_query_argv(names), capture_output=True, text=True, check=False)
    assert done.returncode == 1  # the unknown name: the roles' probe does not fail on it
    assert packages_missing(done.stdout, names) == ["no-such-package-here"]


@pytest.mark.parametrize(("output", "wanted", "message"), [
    (None, ["nginx"], r"expected dpkg-query's output, got NoneType"),
    ("", "nginx", r"must be a list of package names"),
    ("", None, r"must be a list of package names"),
    ("", ["Nginx"], r"'Nginx' is not a Debian package name"),
    ("", ["nginx; rm -rf /"], r"is not a Debian package name"),
    ("", [3], r"3 is not a Debian package name"),
])
def test_bad_input_names_the_variable(output, wanted, message):
    with pytest.raises(ValueError, match=message):
        packages_missing(output, wanted, "nginx_tls_package_names")
    with pytest.raises(AnsibleFilterError, match="nginx_tls_package_names"):
        FilterModule().filters()["packages_missing"](output, wanted, "nginx_tls_package_names")
    if output is not None:
        with pytest.raises(AnsibleFilterError, match="nginx_tls_package_names"):
            FilterModule().filters()["dpkg_query_argv"](wanted, "nginx_tls_package_names")
