"""tor_onion on fedi: the onion service tor runs (offline, DisableNetwork 1), the nginx onion
vhost behind it, and Onion-Location on the clearnet site. The onion vhost is on fedi's
loopback, where tor connects: those requests are made on fedi; the clearnet ones from backup."""
import base64
import re

import pytest

import tor_onion
from test_web import SECURITY_HEADERS, one

SERVICE_DIR = "/var/lib/tor/fediverse"


@pytest.fixture(scope="module")
def onion(lab):
    return lab.host("fedi").check_output("cat %s/hostname", SERVICE_DIR).strip()


def onion_page(lab, onion, path="/"):
    # As tor delivers it: plain HTTP to nginx's onion listener, Host: the onion name.
    return lab.page("fedi", f"http://{onion}{path}", "--connect-to", f"{onion}:80:127.0.0.1:8080")


def test_the_host_name_is_a_v3_onion_derived_from_the_service_key(lab, onion):
    assert re.fullmatch(r"[a-z2-7]{56}\.onion", onion)
    key = base64.b64decode(lab.host("fedi").check_output("base64 -w0 %s/hs_ed25519_secret_key", SERVICE_DIR))
    assert tor_onion.address_from_secret_key_file(key) == onion


def test_the_service_directory_is_tors_alone(lab):
    directory = lab.host("fedi").file(SERVICE_DIR)
    assert (directory.user, directory.group, directory.mode) == ("debian-tor", "debian-tor", 0o700)
    key = lab.host("fedi").file(f"{SERVICE_DIR}/hs_ed25519_secret_key")
    assert (key.user, key.mode) == ("debian-tor", 0o600)


@pytest.mark.parametrize("path", ["/", "/about", "/packs/app.js", "/packs/nonexistent.js"])
def test_the_onion_vhost_serves_the_site_without_hsts_or_redirect(lab, onion, path):
    status, headers, body = onion_page(lab, onion, path)
    assert status == (404 if "nonexistent" in path else 200)
    assert not any(name.lower() in {"strict-transport-security", "onion-location", "location"} for name, _ in headers), headers
    for name in SECURITY_HEADERS:
        if name != "Strict-Transport-Security":
            one(headers, name)
    if path == "/":
        assert "mastodon stub" in body  # the app itself, through nginx's onion vhost


@pytest.mark.parametrize("path", ["/", "/about?x=1", "/packs/app.js", "/packs/nonexistent.js"])
def test_the_clearnet_site_sends_onion_location_once(lab, onion, path):
    status, headers = lab.http("backup", f"https://fedi{path}")
    assert status in {200, 404}
    assert one(headers, "Onion-Location") == f"http://{onion}{path}"


def test_onion_location_is_not_sent_over_plain_http(lab):
    # Port 80 only redirects (and serves ACME challenges): Onion-Location counts on HTTPS only.
    _, headers = lab.http("backup", "http://fedi/about")
    assert not [v for n, v in headers if n.lower() == "onion-location"]


TOR = "tor --defaults-torrc /usr/share/tor/tor-service-defaults-torrc -f /etc/tor/torrc"


def test_tor_runs_the_configured_defences(lab):
    # tor's own reading of its configuration files (the includes resolved); the running
    # tor read the same files: it started after they were last written.
    fedi = lab.host("fedi")
    effective = fedi.check_output(f"{TOR} --dump-config short").splitlines()
    for line in ("Sandbox 1", "NoExec 1", "SocksPort 127.0.0.1:9050 IsolateDestAddr IsolateDestPort",
                 "HiddenServiceDir /var/lib/tor/fediverse/", "HiddenServicePort 80 127.0.0.1:8080",
                 "HiddenServiceMaxStreams 100", "HiddenServiceMaxStreamsCloseCircuit 1",
                 "HiddenServiceEnableIntroDoSDefense 1", "HiddenServicePoWDefensesEnabled 1"):
        assert line in effective, effective
    assert "pow: yes" in fedi.check_output("tor --list-modules").splitlines()
    running_for = int(fedi.check_output("ps -o etimes= -C tor"))
    written_ago = int(fedi.check_output("echo $(( $(date +%s) - $(stat -c %Y /etc/tor/torrc.d/fedisec-onion.conf) ))"))
    assert running_for <= written_ago


def test_no_world_writable_socks_socket(lab):
    # Debian's default SocksPort unix:/run/tor/socks WorldWritable is replaced.
    assert not lab.host("fedi").file("/run/tor/socks").exists
    assert "SocksPort unix" not in lab.host("fedi").check_output(f"{TOR} --dump-config short")
    assert lab.host("fedi").check_output("ps -o user= -C tor").split() == ["debian-tor"]
