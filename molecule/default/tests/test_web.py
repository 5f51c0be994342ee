"""nginx_tls in mastodon mode, seen from the outside peer (which trusts the lab root)."""
import json

import pytest

import observatory

SECURITY_HEADERS = [
    "Strict-Transport-Security", "Content-Security-Policy", "X-Frame-Options",
    "X-Content-Type-Options", "Referrer-Policy", "Cross-Origin-Resource-Policy", "Permissions-Policy",
]
# What the lab's Mastodon stand-in sends itself (molecule/resources/files/mastodon-stub.py).
UPSTREAM = {"Referrer-Policy": "same-origin", "Content-Security-Policy": "base-uri 'none'; default-src 'none'"}


def one(headers, name):
    values = observatory.header_values(headers, name)
    assert len(values) == 1, f"{name} sent {len(values)} times: {values}"
    return values[0]


@pytest.mark.parametrize("path", ["/", "/about", "/packs/app.js", "/system/media.png"])
def test_every_security_header_exactly_once_and_a_plus(lab, path):
    status, headers = lab.http("backup", f"https://fedi{path}")
    assert status == 200
    for name in SECURITY_HEADERS:
        one(headers, name)
    assert one(headers, "Strict-Transport-Security") == "max-age=63072000; includeSubDomains"
    assert one(headers, "X-Content-Type-Options") == "nosniff"
    assert one(headers, "Server") == "nginx"  # server_tokens off: no version
    result = observatory.score(headers, redirect_ok=True)
    assert result["score"] >= 100, result
    assert result["grade"] == "A+"


def test_proxied_pages_keep_mastodons_own_headers(lab):
    _, headers = lab.http("backup", "https://fedi/")
    assert one(headers, "Referrer-Policy") == UPSTREAM["Referrer-Policy"]
    assert one(headers, "Content-Security-Policy").startswith(UPSTREAM["Content-Security-Policy"])
    assert one(headers, "Cross-Origin-Resource-Policy") == "same-origin"  # added by nginx


def test_static_assets_get_nginx_headers_and_embeddable_media(lab):
    _, headers = lab.http("backup", "https://fedi/system/media.png")
    assert one(headers, "Referrer-Policy") == "strict-origin-when-cross-origin"
    assert one(headers, "Content-Security-Policy").startswith("default-src 'none'")
    assert one(headers, "Cross-Origin-Resource-Policy") == "cross-origin"
    assert "max-age=2419200" in one(headers, "Cache-Control")


def test_http_redirects_to_https(lab):
    status, headers = lab.http("backup", "http://fedi/some/path?q=1")
    assert status == 308
    assert one(headers, "Location") == "https://fedi/some/path?q=1"


def test_acme_challenges_are_served_over_http(lab):
    fedi = lab.host("fedi")
    token = "/var/www/acme/.well-known/acme-challenge/lab-probe"
    fedi.check_output(f"echo lab-token > {token}")
    try:
        body = lab.host("backup").check_output("curl -sS --max-time 10 http://fedi/.well-known/acme-challenge/lab-probe")
        assert body == "lab-token"
    finally:
        fedi.run(f"rm -f {token}")


def test_streaming_websocket_upgrade_is_proxied(lab):
    script = r"""python3 - <<'EOF'
import base64, os, socket, ssl
ctx = ssl.create_default_context()
with ctx.wrap_socket(socket.create_connection(("fedi", 443), timeout=10), server_hostname="fedi") as s:
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /api/v1/streaming?stream=public HTTP/1.1\r\nHost: fedi\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\n\r\n" % key).encode())
    data = b""
    while b"streaming-ok" not in data:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
print(data.split(b"\r\n")[0].decode(), b"streaming-ok" in data)
EOF"""
    assert lab.host("backup").check_output(script) == "HTTP/1.1 101 Switching Protocols True"


@pytest.fixture(scope="module")
def tls(lab):
    return json.loads(lab.run_script("backup", "tls_probe.py", "fedi"))


@pytest.mark.parametrize("version", ["TLSv1", "TLSv1_1"])
def test_old_protocols_refused_by_the_server(tls, version):
    result = tls["protocols"][version]
    assert not result["accepted"]
    assert "PROTOCOL_VERSION" in result["error"].upper(), result  # the server's alert, not the client


def test_tls13_and_tls12_work(tls):
    assert tls["protocols"]["TLSv1_3"]["version"] == "TLSv1.3"
    assert tls["protocols"]["TLSv1_2"]["version"] == "TLSv1.2"


def test_tls12_offers_only_ecdhe_aead_suites(tls):
    mozilla_intermediate = {
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    }
    assert tls["tls12_suites"], "no TLS 1.2 suite accepted"
    assert set(tls["tls12_suites"]) <= mozilla_intermediate


@pytest.mark.parametrize("version", ["TLSv1_2", "TLSv1_3"])
def test_sessions_resume_from_the_cache(tls, version):
    assert tls["resumed"][version]


@pytest.mark.parametrize("group,accepted", [("X25519", True), ("secp384r1", True), ("secp521r1", False)])
def test_key_exchange_groups(lab, group, accepted):
    result = lab.host("backup").run(
        "echo | openssl s_client -connect fedi:443 -servername fedi -tls1_3 -groups %s", group)
    assert (result.rc == 0) == accepted, result.stdout + result.stderr
