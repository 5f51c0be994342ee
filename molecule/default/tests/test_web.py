"""nginx_tls in mastodon mode, seen from the outside peer (which trusts the lab root)."""
import json
import re
import time
from pathlib import Path

import pytest
import yaml

import observatory

REPO = Path(__file__).resolve().parents[3]

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
    status, headers, body = lab.page("backup", f"https://fedi{path}")
    assert status == 200
    for name in SECURITY_HEADERS:
        one(headers, name)
    assert one(headers, "Strict-Transport-Security") == "max-age=63072000; includeSubDomains"
    assert one(headers, "X-Content-Type-Options") == "nosniff"
    assert one(headers, "Server") == "nginx"  # server_tokens off: no version
    result = observatory.score(headers, redirect_ok=True, html=body, host="fedi")
    assert result["score"] >= 100, result
    if path == "/":  # the page's own HTML was read: the SRI rule saw a page without scripts
        assert result["tests"]["subresource-integrity"]["result"] == "sri-not-implemented-but-no-scripts-loaded"
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


@pytest.mark.parametrize("group,accepted", [("X25519", True), ("secp384r1", True), ("secp521r1", False)])
def test_key_exchange_groups(lab, group, accepted):
    result = lab.host("backup").run(
        "echo | openssl s_client -connect fedi:443 -servername fedi -tls1_3 -groups %s", group)
    assert (result.rc == 0) == accepted, result.stdout + result.stderr


def test_the_hybrid_post_quantum_group_is_preferred_where_openssl_has_it(lab):
    # OpenSSL 3.5 (Debian 13): X25519MLKEM768 first in nginx's groups, and what a client that
    # offers it (OpenSSL 3.5's default) gets. OpenSSL 3.0 (Debian 12) has no ML-KEM: the
    # role leaves it out (nginx -t would refuse the name).
    fedi = lab.host("fedi")
    if "MLKEM768" not in fedi.check_output("openssl list -kem-algorithms 2>/dev/null || true"):
        assert "X25519MLKEM768" not in fedi.check_output("nginx -T 2>/dev/null | grep ssl_ecdh_curve")
        return
    result = lab.host("backup").run("echo | openssl s_client -connect fedi:443 -servername fedi -tls1_3 2>&1")
    assert result.rc == 0, result.stdout
    assert re.search(r"^(Negotiated TLS1\.3 group|Peer Temp Key): X25519MLKEM768", result.stdout, re.M), result.stdout


def raw_https(lab, request: str) -> tuple[int, list[tuple[str, str]]]:
    """Sends a raw HTTP/1.1 request over TLS from backup: status and the raw header list."""
    script = r"""python3 - <<'EOF'
import json, socket, ssl, sys
ctx = ssl.create_default_context()
with ctx.wrap_socket(socket.create_connection(("fedi", 443), timeout=10), server_hostname="fedi") as s:
    s.sendall(%r.encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
print(json.dumps([head[0]] + [line.split(":", 1) for line in head[1:]]))
EOF""" % request
    lines = json.loads(lab.host("backup").check_output(script))
    return int(lines[0].split()[1]), [(name.strip(), value.strip()) for name, value in lines[1:]]


def assert_full_header_set_once(headers):
    for name in SECURITY_HEADERS:
        one(headers, name)
    assert one(headers, "Strict-Transport-Security") == "max-age=63072000; includeSubDomains"
    assert one(headers, "Content-Security-Policy").startswith("default-src 'none'")  # nginx's own


def test_nginx_made_404_carries_every_header(lab):
    status, headers = lab.http("backup", "https://fedi/packs/no-such-file.js")
    assert status == 404
    assert_full_header_set_once(headers)


def test_nginx_made_400_carries_every_header(lab):
    # Two Host headers: nginx refuses the request itself, before any location.
    status, headers = raw_https(lab, "GET / HTTP/1.1\r\nHost: fedi\r\nHost: fedi\r\nConnection: close\r\n\r\n")
    assert status == 400
    assert_full_header_set_once(headers)


@pytest.mark.changes
def test_bad_gateway_page_carries_every_header(lab):
    fedi = lab.host("fedi")
    fedi.check_output("systemctl stop mastodon-stub")
    try:
        status, headers = lab.http("backup", "https://fedi/about")
        assert status == 502
        assert_full_header_set_once(headers)
    finally:
        fedi.check_output("systemctl start mastodon-stub")
    # The stub is back once it listens (a busy machine takes a moment): nginx proxies again.
    for _ in range(50):
        status = lab.http("backup", "https://fedi/about")[0]
        if status == 200:
            break
        time.sleep(0.2)
    assert status == 200


def test_permissions_policy_is_the_configured_one(lab):
    defaults = yaml.safe_load((REPO / "roles" / "nginx_tls" / "defaults" / "main.yml").read_text())
    expected = ", ".join(f"{feature}=({' '.join(origins)})"
                         for feature, origins in defaults["nginx_tls_permissions_policy"].items())
    for path in ("/", "/system/media.png"):
        assert one(lab.http("backup", f"https://fedi{path}")[1], "Permissions-Policy") == expected


def test_http2_is_negotiated_by_alpn(lab):
    # grep -a: nginx may send its HTTP/2 SETTINGS frame before s_client exits, and grep
    # would then call the output binary and print no line.
    out = lab.host("backup").check_output(
        "echo | openssl s_client -connect fedi:443 -servername fedi -alpn h2,http/1.1 2>/dev/null | grep -a '^ALPN'")
    assert out.strip() == "ALPN protocol: h2"
    assert lab.host("backup").check_output(
        "curl -sS --http2 -o /dev/null -w '%{http_version}' https://fedi/") == "2"


@pytest.mark.parametrize("order", [
    ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"),
    ("ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-ECDSA-AES128-GCM-SHA256"),
])
def test_the_client_cipher_order_decides_on_tls12(lab, order):
    # ssl_prefer_server_ciphers off: every suite is strong, so the client (which knows
    # whether it has AES hardware) picks; the server follows its order either way round.
    out = lab.host("backup").check_output(
        "echo | openssl s_client -connect fedi:443 -servername fedi -tls1_2 -cipher %s 2>/dev/null"
        " | grep -m1 'Cipher is'", ":".join(order))
    assert out.split()[-1] == order[0]


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_p256_is_accepted_on_both_versions(lab, version):
    # P-384 offered too, after P-256: on TLS 1.2 the client's groups also name the curves it
    # accepts for the server's ECDSA P-384 certificate. The server follows the client's
    # order, so P-256 is used when the server allows it.
    result = lab.host("backup").run(
        "echo | openssl s_client -connect fedi:443 -servername fedi %s -groups P-256:P-384 2>&1", version)
    assert result.rc == 0, result.stdout
    # "Server Temp Key" up to OpenSSL 3.4, "Peer Temp Key" from 3.5 (Debian 13).
    assert re.search(r"^(Server|Peer) Temp Key: ECDH, prime256v1", result.stdout, re.M), result.stdout


SESSION = ("printf 'GET / HTTP/1.0\\r\\nHost: fedi\\r\\n\\r\\n' | openssl s_client -connect fedi:443 -servername fedi"
           " %s -ign_eof %s %s 2>&1")


@pytest.mark.parametrize("version", ["-tls1_2", "-tls1_3"])
def test_sessions_resume_from_the_server_cache_or_rotated_tickets(lab, version):
    """nginx < 1.23.2 (Debian 12) does not rotate ticket keys: tickets off, TLS 1.2 gets no
    ticket and resumes by session ID, TLS 1.3 gets only a short stateful handle (the session's
    ID in the server's cache, not an encrypted session). From 1.23.2 (Debian 13) nginx rotates
    them and the role turns them on: both versions get a stateless ticket. Both resume."""
    nginx = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", lab.host("fedi").run("nginx -v").stderr)
    tickets = tuple(int(part) for part in nginx.groups()) >= (1, 23, 2)
    backup = lab.host("backup")
    state = f"/tmp/lab-session{version}.pem"
    first = backup.check_output(SESSION, version, "-sess_out", state)
    assert "New, TLSv1." in first
    text = backup.check_output("openssl sess_id -in %s -noout -text", state)
    ticket = text.split("TLS session ticket:", 1)[1].split("Start Time")[0] if "TLS session ticket:" in text else ""
    ticket_bytes = len([b for line in ticket.splitlines() for b in line.split("-", 1)[-1].split()[:16]
                        if len(b) == 2 and all(c in "0123456789abcdef" for c in b)])
    if tickets:
        assert ticket_bytes > 64, text  # a stateless ticket carries the whole session (> 100 bytes)
    elif version == "-tls1_2":
        assert ticket_bytes == 0, text
    else:
        assert 0 < ticket_bytes <= 64, text
    second = backup.check_output(SESSION, version, "-sess_in", state)
    assert "Reused, TLSv1." in second
    backup.run("rm -f %s", state)
