"""The lab is sealed: no lab host has a route out of the internal network, and no name
outside the lab resolves."""
import pytest

# TEST-NET-1 (RFC 5737): reserved for documentation, never a real destination. With no
# route the kernel refuses the connect() itself (ENETUNREACH): no packet leaves the host.
OUTSIDE = "192.0.2.1"
PROBE = (
    "python3 -c 'import errno, socket\n"
    "s = socket.socket()\n"
    "s.settimeout(3)\n"
    "print(errno.errorcode.get(s.connect_ex((\"%s\", 443)), \"connected\"))'"
)


@pytest.mark.parametrize("name", ["fedi", "backup", "acme"])
def test_no_route_out_of_the_lab(lab, name):
    assert lab.host(name).check_output(PROBE % OUTSIDE) == "ENETUNREACH"


@pytest.mark.parametrize("name", ["fedi", "backup", "acme"])
def test_lab_hosts_reach_each_other(lab, name):
    # The same probe against a lab host must connect: the check above is not vacuous.
    assert lab.host(name).check_output(PROBE.replace("443", "14000") % "acme") == "connected"


@pytest.mark.parametrize("name", ["fedi", "backup", "acme"])
def test_no_name_outside_the_lab_resolves(lab, name):
    # The lab's name server knows the lab hosts only: a lookup of an outside name is never
    # forwarded to a resolver of the machine running the lab.
    host = lab.host(name)
    assert host.run("getent hosts deb.debian.org").rc != 0
    assert host.run("getent hosts backup").rc == 0
