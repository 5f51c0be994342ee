#!/usr/bin/python3
"""TLS probe run on a lab client: prints one JSON object describing what a server accepts.

Usage: tls_probe.py HOST [PORT]. It trusts the client's system store (the lab root) and
offers old protocols and suites at security level 0, so that a refusal comes from the
server, not from the client's own policy.
"""
import json
import socket
import ssl
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1/1.1 are offered on purpose
HOST = sys.argv[1]
PORT = int(sys.argv[2]) if len(sys.argv) > 2 else 443
V = ssl.TLSVersion


def context(version, ciphers="ALL:COMPLEMENTOFALL:@SECLEVEL=0"):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_default_certs()
    ctx.minimum_version = ctx.maximum_version = version
    ctx.set_ciphers(ciphers)
    return ctx


def connect(ctx, session=None, request=False):
    with socket.create_connection((HOST, PORT), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST, session=session) as tls:
            if request:  # read a response so that TLS 1.3 tickets arrive
                tls.sendall(f"GET / HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
                while tls.recv(65536):
                    pass
            return {"version": tls.version(), "cipher": tls.cipher()[0], "reused": tls.session_reused,
                    "session": tls.session}


def attempt(ctx):
    try:
        result = connect(ctx)
        return {"accepted": True, "version": result["version"], "cipher": result["cipher"]}
    except (ssl.SSLError, OSError) as exc:
        return {"accepted": False, "error": str(exc)}


def tls12_suites():
    names = [c["name"] for c in context(V.TLSv1_2).get_ciphers() if c["protocol"] != "TLSv1.3"]
    return sorted(n for n in names if attempt(context(V.TLSv1_2, f"{n}:@SECLEVEL=0"))["accepted"])


def resumption(version):
    ctx = context(version, "DEFAULT")
    first = connect(ctx, request=True)
    second = connect(ctx, session=first["session"], request=True)
    return second["reused"]


protocols = {v: attempt(context(v)) for v in (V.TLSv1, V.TLSv1_1, V.TLSv1_2, V.TLSv1_3)}
report = {
    "protocols": {v.name: result for v, result in protocols.items()},
    "tls12_suites": tls12_suites(),
    "resumed": {v.name: resumption(v) for v in (V.TLSv1_2, V.TLSv1_3) if protocols[v]["accepted"]},
}
print(json.dumps(report))
