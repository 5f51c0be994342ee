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


def connect(ctx):
    with socket.create_connection((HOST, PORT), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=HOST) as tls:
            return {"version": tls.version(), "cipher": tls.cipher()[0]}


def attempt(ctx):
    try:
        result = connect(ctx)
        return {"accepted": True, "version": result["version"], "cipher": result["cipher"]}
    except (ssl.SSLError, OSError) as exc:
        return {"accepted": False, "error": str(exc)}


def tls12_suites():
    names = [c["name"] for c in context(V.TLSv1_2).get_ciphers() if c["protocol"] != "TLSv1.3"]
    return sorted(n for n in names if attempt(context(V.TLSv1_2, f"{n}:@SECLEVEL=0"))["accepted"])


protocols = {v: attempt(context(v)) for v in (V.TLSv1, V.TLSv1_1, V.TLSv1_2, V.TLSv1_3)}
report = {
    "protocols": {v.name: result for v, result in protocols.items()},
    "tls12_suites": tls12_suites(),
}
print(json.dumps(report))
