#!/usr/bin/python3
"""TLS handshake benchmark run on the nginx host itself (loopback): prints one JSON object.

Usage: tls_bench.py HOST PORT SERVER_NAME SECONDS
For TLS 1.2 and 1.3 it makes as many connections as fit in SECONDS, each a full handshake,
then as many resuming the first connection's session (TLS 1.3: the ticket read after the
response), each sending one HEAD request and reading the answer. Per series: connections,
wall time, how many really resumed, and the CPU seconds nginx's workers spent (from
/proc), the figure that tells what a handshake costs the server per core.
"""
import json
import os
import socket
import ssl
import sys
import time

HOST, PORT, NAME, SECONDS = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
TICKS = os.sysconf("SC_CLK_TCK")
REQUEST = f"HEAD / HTTP/1.1\r\nHost: {NAME}\r\nConnection: close\r\n\r\n".encode()


def workers_cpu() -> float:
    """CPU seconds (user + system) of every nginx worker process."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                if not cmdline.read().startswith(b"nginx: worker process"):
                    continue
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def connect(ctx, session=None):
    with socket.create_connection((HOST, PORT), timeout=10) as raw:
        # As browsers do: without it the client's last handshake flight and its request wait
        # for the server's delayed ACK (40 ms), which is what a resumed TLS 1.2 run would measure.
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with ctx.wrap_socket(raw, server_hostname=NAME, session=session) as tls:
            tls.sendall(REQUEST)
            while tls.recv(4096):
                pass
            return tls.session, tls.session_reused


def series(ctx, resume: bool) -> dict:
    session, _ = connect(ctx) if resume else (None, False)
    count = reused = 0
    cpu, start = workers_cpu(), time.perf_counter()
    while time.perf_counter() - start < SECONDS:
        _, was_reused = connect(ctx, session)
        count += 1
        reused += was_reused
    wall = time.perf_counter() - start
    return {"connections": count, "seconds": round(wall, 3), "resumed": reused,
            "worker_cpu_seconds": round(workers_cpu() - cpu, 3)}


def main() -> None:
    results = {}
    for label, version in (("TLSv1.2", ssl.TLSVersion.TLSv1_2), ("TLSv1.3", ssl.TLSVersion.TLSv1_3)):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE  # the server's cost is measured, not the client's checks
        ctx.minimum_version = ctx.maximum_version = version
        results[label] = {"full": series(ctx, resume=False), "resumed": series(ctx, resume=True)}
    print(json.dumps(results))


if __name__ == "__main__":
    main()
