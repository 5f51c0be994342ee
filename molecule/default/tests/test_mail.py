"""exim_tls, seen from the outside peer, and mail from fedi to the peer over TLS."""
import json
import os
import time
import uuid

SECRETS = os.path.join(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", ""), "secrets")

SMTP_SESSION = r"""python3 - <<'EOF'
import json, smtplib, ssl
result = {}
with smtplib.SMTP("fedi", %d, timeout=20) as s:
    s.ehlo("backup")
    result["before_tls"] = sorted(s.esmtp_features)
    s.starttls(context=ssl.create_default_context())
    s.ehlo("backup")
    result["after_tls"] = sorted(s.esmtp_features)
    result["auth_after_tls"] = s.esmtp_features.get("auth", "")
    result["version"] = s.sock.version()
print(json.dumps(result))
EOF"""


def smtp_features(lab, port):
    return json.loads(lab.host("backup").check_output(SMTP_SESSION % port))


def test_swaks_starttls_with_tls13_and_the_lab_certificate(lab):
    out = lab.host("backup").check_output(
        "swaks --server fedi --port 25 --tls --tls-verify --to postmaster@fedi --from lab@backup --quit-after RCPT 2>&1")
    assert "TLS started with cipher TLSv1.3" in out
    # --tls-verify accepted its chain to the lab root and the name. swaks of Debian 12 prints
    # the peer's DN (and aborts on a failed verification); Debian 13's says so, with the
    # names (Pebble there, like Let's Encrypt since 2025, puts the name in subjectAltName only).
    assert 'TLS peer DN="/CN=fedi"' in out or (
        "TLS peer certificate passed CA verification, passed host verification" in out
        and "subjectAltName=[DNS:fedi]" in out), out


def test_auth_is_never_offered_before_starttls(lab):
    for port in (25, 587):
        features = smtp_features(lab, port)
        assert "starttls" in features["before_tls"]
        assert "auth" not in features["before_tls"], port
        assert features["version"] == "TLSv1.3"
    assert "PLAIN" in smtp_features(lab, 587)["auth_after_tls"]


def test_submission_requires_authentication(lab):
    backup = lab.host("backup")
    with open(os.path.join(SECRETS, "smtp-alice"), encoding="utf-8") as fh:
        password = fh.read().split()[0]
    # To a local address other than postmaster (always accepted): relaying is refused
    # earlier anyway, a local recipient reaches the submission policy.
    denied = backup.run("swaks --server fedi --port 587 --tls --to root@fedi --from alice@fedi 2>&1")
    assert denied.rc != 0 and "Authentication after STARTTLS required" in denied.stdout
    sent = backup.run("swaks --server fedi --port 587 --tls --auth PLAIN --auth-user alice --auth-password %s"
                      " --to someone@backup --from alice@fedi --quit-after RCPT 2>&1", password)
    # Asserted on plain values: the command holds the password and swaks prints the
    # AUTH PLAIN exchange (base64 of it); neither goes into a failure message.
    rc = sent.rc
    transcript = "\n".join(line for line in sent.stdout.splitlines() if "AUTH" not in line)
    assert rc == 0, transcript
    assert "Authentication succeeded" in transcript


def starttls_handshake(lab, *options):
    """openssl s_client from backup to fedi:25 after STARTTLS, with `options`; the result."""
    return lab.host("backup").run(
        "echo QUIT | openssl s_client -starttls smtp -connect fedi:25 -servername fedi " + " ".join(options))


def test_tls11_client_is_refused(lab):
    # Every protocol and cipher the client knows (@SECLEVEL=0 lets it offer TLS 1.1).
    options = ("-cipher", "'DEFAULT:@SECLEVEL=0'")
    # The same client with TLS 1.2 gets in: what refuses TLS 1.1 below is the version alone.
    accepted = starttls_handshake(lab, "-tls1_2", *options)
    assert accepted.rc == 0, accepted.stderr
    assert "Protocol  : TLSv1.2" in accepted.stdout
    refused = starttls_handshake(lab, "-tls1_1", *options)
    assert refused.rc != 0
    # Refused by the server: its protocol_version alert (70) reached the client, which
    # did offer TLS 1.1 (a client that cannot would fail with "no protocols available").
    assert "alert protocol version" in refused.stderr, refused.stderr
    assert "SSL alert number 70" in refused.stderr, refused.stderr


def test_non_aead_cipher_is_refused(lab):
    backup = lab.host("backup")
    for cipher in ("ECDHE-ECDSA-AES128-SHA256", "ECDHE-ECDSA-AES256-SHA"):
        result = backup.run(
            "echo QUIT | openssl s_client -starttls smtp -connect fedi:25 -tls1_2 -cipher '%s:@SECLEVEL=0'", cipher)
        assert result.rc != 0, cipher
    accepted = backup.run(
        "echo QUIT | openssl s_client -starttls smtp -connect fedi:25 -tls1_2 -cipher ECDHE-ECDSA-AES128-GCM-SHA256")
    assert accepted.rc == 0  # the same client with an AEAD suite gets in: the refusals are the cipher's


def test_gnutls_priority_lists_only_tls12_13_aead(lab):
    listing = lab.host("fedi").check_output(
        "gnutls-cli --priority \"$(sed -n 's/^tls_require_ciphers = //p' /etc/exim4/conf.d/main/04_fedisec-tls)\" --list")
    suites = [line for line in listing.splitlines() if line.startswith("TLS_")]
    assert suites
    assert all(("GCM" in s or "CHACHA20_POLY1305" in s) for s in suites), suites
    assert "VERS-TLS1.1" not in listing and "VERS-TLS1.0" not in listing


def test_mail_from_fedi_reaches_the_peer_over_tls(lab):
    fedi, backup = lab.host("fedi"), lab.host("backup")
    message_id = f"{uuid.uuid4().hex}@fedi"
    fedi.check_output(
        "/usr/sbin/sendmail -odi root@backup <<'EOF'\n"
        f"From: root@fedi\nTo: root@backup\nMessage-Id: <{message_id}>\nSubject: lab\n\nover tls\nEOF")
    received = backup.check_output(f"grep -F 'id={message_id}' /var/log/exim4/mainlog || true")
    assert "<=" in received and "H=" in received, received
    assert "X=TLS1.3" in received, received  # received over TLS 1.3
    queue_id = fedi.check_output(f"grep -F 'id={message_id}' /var/log/exim4/mainlog").split()[2]
    sent = fedi.check_output(f"grep -F ' {queue_id} ' /var/log/exim4/mainlog")
    assert "=> root@backup" in sent and "X=TLS1.3" in sent and "CV=yes" in sent, sent  # smarthost verified


def test_dns_records_for_mail(lab):
    records = lab.host("fedi").file("/etc/fedisec/dns-records/exim_tls.txt").content_string
    tlsa = lab.host("fedi").file("/etc/fedisec/dns-records/ecdsa_cert-fedi.txt").content_string
    digest = [line.split()[-1] for line in tlsa.splitlines() if " IN TLSA " in line][0]
    assert f"_25._tcp.fedi. IN TLSA 3 1 1 {digest}" in records  # the same key as the web
    assert '_mta-sts.fedi. IN TXT "v=STSv1; id=' in records
    assert '_smtp._tls.fedi. IN TXT "v=TLSRPTv1; rua=mailto:tls-reports@fedi"' in records


def test_mail_to_root_on_db_reaches_fedi_over_verified_tls(lab):
    # db receives no mail: its Exim (a satellite) listens on loopback only and sends
    # everything, root's mail included, to fedi's Exim over TLS with the certificate verified.
    db, fedi = lab.host("db"), lab.host("fedi")
    listening = {line.split()[3].rsplit(":", 1)[0] for line in db.check_output("ss -ltnH 'sport = :25'").splitlines()}
    assert listening == {"127.0.0.1", "[::1]"}, listening
    message_id = f"{uuid.uuid4().hex}@db"
    db.check_output(
        "/usr/sbin/sendmail -odi -oi -t <<'EOF'\n"
        f"To: root\nMessage-Id: <{message_id}>\nSubject: lab satellite\n\nfrom db\nEOF")
    queue_id = db.check_output(f"grep -F 'id={message_id}' /var/log/exim4/mainlog").split()[2]
    sent = db.check_output(f"grep -F ' {queue_id} ' /var/log/exim4/mainlog")
    assert "=> root@fedi" in sent and "X=TLS1.3" in sent and "CV=yes" in sent, sent
    for _ in range(20):
        delivered = fedi.run(f"grep -lF '<{message_id}>' /var/mail/mail")
        if delivered.rc == 0:
            break
        time.sleep(1)
    assert delivered.rc == 0, "the mail from db never reached root's mailbox on fedi"
