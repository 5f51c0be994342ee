#!/usr/bin/python3
"""A minimal XMPP client run on a lab host (Python's standard library only): prints one JSON
object with what the server offered and did.

Usage: xmpp_client.py HOST[:PORT] DOMAIN MODE [USER PASSWORD_FILE [TO BODY]]
  MODE features  - the stream features before TLS, then after STARTTLS (no login)
  MODE plain     - without TLS: the features, then an AUTH PLAIN attempt (as a client that
                   refuses STARTTLS would); reports the server's answer
  MODE login     - STARTTLS (verified against the system store), then SCRAM; reports the
                   TLS version and the SASL outcome (and checks the server's signature)
  MODE send      - login, bind, send a chat message with BODY to TO, stay a few seconds

The password is read from a file so that it never appears in a process list or a command
line that a failing test prints. The SCRAM mechanism is the strongest SCRAM-* the server
offers (without -PLUS: channel binding is not what is under test).
"""
import base64
import hashlib
import hmac
import json
import os
import re
import socket
import ssl
import sys
import time

NS_STREAM = "http://etherx.jabber.org/streams"
HOST, _, PORT = sys.argv[1].partition(":")  # HOST may be name:port (default 5222)
PORT = int(PORT or 5222)
DOMAIN, MODE = sys.argv[2], sys.argv[3]


class Stream:
    def __init__(self, sock):
        self.sock = sock
        self.buffer = ""

    def send(self, text):
        self.sock.sendall(text.encode())

    def read_until(self, pattern, timeout=10.0):
        """Reads until the buffer matches `pattern` (a regex); returns and consumes it."""
        regex = re.compile(pattern, re.S)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.buffer)
            if match:
                self.buffer = self.buffer[match.end():]
                return match.group(0)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no {pattern!r} in {self.buffer[-300:]!r}")
            self.sock.settimeout(remaining)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"closed by the server after {self.buffer[-300:]!r}")
            self.buffer += data.decode(errors="replace")

    def open(self):
        self.send(f"<?xml version='1.0'?><stream:stream to='{DOMAIN}' xmlns='jabber:client' "
                  f"xmlns:stream='{NS_STREAM}' version='1.0'>")
        return self.read_until(r"<stream:features.*?(</stream:features>|<stream:features/>)")


def mechanisms(features):
    return re.findall(r"<mechanism>([^<]+)</mechanism>", features)


def starttls(stream):
    stream.send("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>")
    stream.read_until(r"<proceed[^>]*/>")
    context = ssl.create_default_context()  # the system store: the lab root
    stream.sock = context.wrap_socket(stream.sock, server_hostname=DOMAIN)
    stream.buffer = ""
    return stream.open()


def scram(stream, mechanism, user, password):
    name = mechanism[len("SCRAM-"):].replace("-", "").lower()  # SHA-1 -> sha1, SHA-256 -> sha256
    digest = getattr(hashlib, name)
    b64 = lambda data: base64.b64encode(data).decode()  # noqa: E731
    nonce = b64(os.urandom(18))
    first_bare = f"n={user},r={nonce}"
    stream.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='{mechanism}'>"
                f"{b64(('n,,' + first_bare).encode())}</auth>")
    reply = stream.read_until(r"<challenge[^>]*>[^<]*</challenge>|<failure.*?</failure>")
    if reply.startswith("<failure"):
        return "failure:" + re.search(r"<([a-z-]+)/>", reply).group(1), False
    server_first = base64.b64decode(re.search(r">([^<]*)<", reply).group(1)).decode()
    fields = dict(item.split("=", 1) for item in server_first.split(","))
    salted = hashlib.pbkdf2_hmac(name, password.encode(), base64.b64decode(fields["s"]), int(fields["i"]))
    client_key = hmac.new(salted, b"Client Key", digest).digest()
    stored_key = digest(client_key).digest()
    without_proof = f"c={b64(b'n,,')},r={fields['r']}"
    auth_message = f"{first_bare},{server_first},{without_proof}".encode()
    signature = hmac.new(stored_key, auth_message, digest).digest()
    proof = bytes(a ^ b for a, b in zip(client_key, signature))
    stream.send(f"<response xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>{b64((without_proof + ',p=' + b64(proof)).encode())}"
                "</response>")
    reply = stream.read_until(r"<success[^>]*(/>|>[^<]*</success>)|<failure.*?</failure>")
    if reply.startswith("<failure"):
        return "failure:" + re.search(r"<([a-z-]+)/>", reply).group(1), False
    server_key = hmac.new(salted, b"Server Key", digest).digest()
    expected = "v=" + b64(hmac.new(server_key, auth_message, digest).digest())
    final = re.search(r">([^<]*)</success>", reply)
    return "success", bool(final) and base64.b64decode(final.group(1)).decode() == expected


def main():
    result = {}
    stream = Stream(socket.create_connection((HOST, PORT), timeout=10))
    features = stream.open()
    result["starttls_required"] = bool(re.search(r"<starttls[^>]*>\s*<required/>", features))
    result["mechanisms_before_tls"] = mechanisms(features)
    if MODE == "plain":
        user, password = "nobody", "wrong"
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        stream.send(f"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{token}</auth>")
        try:
            reply = stream.read_until(r"<failure.*?</failure>|<success|</stream:stream>")
            result["plain_without_tls"] = reply
        except (ConnectionError, TimeoutError) as exc:
            result["plain_without_tls"] = f"closed: {exc}"
        print(json.dumps(result))
        return
    features = starttls(stream)
    result["tls_version"] = stream.sock.version()
    result["cipher"] = stream.sock.cipher()[0]
    result["mechanisms"] = mechanisms(features)
    if MODE == "features":
        print(json.dumps(result))
        return
    user = sys.argv[4]
    with open(sys.argv[5], encoding="utf-8") as handle:
        password = handle.read().strip()
    offered = [m for m in result["mechanisms"] if m.startswith("SCRAM-") and not m.endswith("-PLUS")]
    mechanism = max(offered, key=lambda m: {"SCRAM-SHA-1": 1, "SCRAM-SHA-256": 2, "SCRAM-SHA-512": 3}.get(m, 0))
    result["mechanism"] = mechanism
    result["auth"], result["server_signature_ok"] = scram(stream, mechanism, user, password)
    if MODE == "send" and result["auth"] == "success":
        stream.buffer = ""
        stream.open()
        stream.send("<iq type='set' id='bind1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>")
        result["jid"] = re.search(r"<jid>([^<]+)</jid>", stream.read_until(r"<iq[^>]*id=.bind1.*?</iq>")).group(1)
        stream.send(f"<message type='chat' to='{sys.argv[6]}' id='lab1'><body>{sys.argv[7]}</body></message>")
        try:  # stay while the message goes out (an error would come back here)
            result["after_send"] = stream.read_until(r"<message[^>]*type=.error.*?</message>", timeout=5)
        except TimeoutError:
            result["after_send"] = ""
        stream.send("</stream:stream>")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
